"""The S3 backend (AWS S3, MinIO, Ceph RGW…) through boto3: one object per document under
``PREFIX + ab/abcdef…``. Uploads go through boto3's managed transfer (multipart above 8 MB, read from the file in
parts, never the whole file in memory); downloads stream the response body in chunks."""
from __future__ import annotations

from typing import BinaryIO, Iterator

from portal.storage.base import MissingObject, Storage, StorageError, StorageUnavailable

PART = 8 * 1024 * 1024


class S3Storage(Storage):
    name = "s3"

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, access_key_id: str | None = None,
                 secret_access_key: str | None = None, presign: bool = False, addressing_style: str = "auto",
                 connect_timeout: float = 3, read_timeout: float = 30):
        if not bucket:
            raise StorageError("PORTAL_STORAGE=s3 needs PORTAL_S3_BUCKET")
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.presign = presign
        self.endpoint_url = endpoint_url or None
        session = boto3.session.Session(aws_access_key_id=access_key_id or None,
                                        aws_secret_access_key=secret_access_key or None,
                                        region_name=region or None)
        self.client = session.client(
            "s3", endpoint_url=self.endpoint_url,
            config=Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                          retries={"max_attempts": 3, "mode": "standard"},
                          s3={"addressing_style": addressing_style}))
        # Bounded memory: at most max_concurrency parts of PART bytes in flight.
        self.transfer = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=2,
                                       use_threads=True)

    @classmethod
    def from_config(cls, config: dict) -> "S3Storage":
        return cls(config.get("S3_BUCKET", ""), prefix=config.get("S3_PREFIX", ""),
                   endpoint_url=config.get("S3_ENDPOINT_URL") or None, region=config.get("S3_REGION") or None,
                   access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
                   secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
                   presign=bool(config.get("S3_PRESIGNED_DOWNLOADS")),
                   addressing_style=config.get("S3_ADDRESSING_STYLE") or "auto")

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise StorageError(f"invalid storage key {key!r}")
        return self.prefix + key

    @staticmethod
    def _missing(exc) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def put_file(self, key, fileobj, *, content_type="application/octet-stream") -> None:
        self.client.upload_fileobj(fileobj, self.bucket, self._key(key), Config=self.transfer,
                                   ExtraArgs={"ContentType": content_type})

    def put_path(self, key, path, *, content_type="application/octet-stream") -> None:
        # upload_file reads each part from disk when it is sent: a few MB of memory for any size
        self.client.upload_file(str(path), self.bucket, self._key(key), Config=self.transfer,
                                ExtraArgs={"ContentType": content_type})

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if self._missing(exc):
                raise MissingObject(f"no stored object {key}") from exc
            raise

    def iter_chunks(self, key: str, chunk: int = 256 * 1024) -> Iterator[bytes]:
        body = self.open(key)
        try:
            yield from body.iter_chunks(chunk)
        finally:
            body.close()

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"])
        except ClientError as exc:
            if self._missing(exc):
                return None
            raise

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                       Prefix=self.prefix + prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                yield obj["Key"][len(self.prefix):]

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            raise StorageUnavailable(f"bucket {self.bucket!r} at {self.endpoint_url or 'AWS'}: {exc}") from exc

    def create_bucket(self) -> bool:
        """Create the bucket when it is missing (MinIO/moto set-ups); False when it existed."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return False
        except Exception:  # noqa: BLE001
            self.client.create_bucket(Bucket=self.bucket)
            return True

    def download_url(self, key, *, filename, content_type, expires=300) -> str | None:
        if not self.presign:
            return None
        from portal.storage.base import content_disposition

        return self.client.generate_presigned_url(
            "get_object", ExpiresIn=expires,
            Params={"Bucket": self.bucket, "Key": self._key(key), "ResponseContentType": content_type,
                    "ResponseContentDisposition": content_disposition(filename)})

    def describe(self) -> str:
        return f"s3 bucket {self.bucket}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")
