"""The storage interface every backend implements."""
from __future__ import annotations

import re
import unicodedata
from abc import ABC, abstractmethod
from typing import BinaryIO, Iterator
from urllib.parse import quote

CHUNK = 256 * 1024
DIGEST_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}$")


class StorageError(RuntimeError):
    """The store refused or failed an operation."""


class StorageUnavailable(StorageError):
    """The store cannot be reached (readiness answers 503 with this sentence)."""


class MissingObject(StorageError):
    """No object under that key."""


def key_for(digest: str) -> str:
    """Where the bytes with this SHA-256 live: ``ab/abcdef…`` (the same key on every backend)."""
    if not re.fullmatch(r"[0-9a-f]{64}", digest or ""):
        raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
    return f"{digest[:2]}/{digest}"


def content_disposition(filename: str, as_attachment: bool = True) -> str:
    kind = "attachment" if as_attachment else "inline"
    simple = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    simple = "".join(c for c in simple if c not in '"\\\r\n') or "download"
    value = f'{kind}; filename="{simple}"'
    if simple != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


class Storage(ABC):
    """Immutable objects addressed by key. Content-addressed keys never change once written, so a second
    ``put`` of the same key is skipped by the callers (``exists`` first)."""

    name = "abstract"

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def put_file(self, key: str, fileobj: BinaryIO, *, content_type: str = "application/octet-stream") -> None:
        """Store the readable binary file (read from its current position to the end), without reading it into
        memory as a whole."""

    def put_path(self, key: str, path: str, *, content_type: str = "application/octet-stream") -> None:
        """Store a file on local disk (a spooled export): backends may read it lazily, part by part."""
        with open(path, "rb") as fh:
            self.put_file(key, fh, content_type=content_type)

    def put_bytes(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        import io

        self.put_file(key, io.BytesIO(data), content_type=content_type)

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the object (``read(n)``, ``close()``); MissingObject when absent."""

    def iter_chunks(self, key: str, chunk: int = CHUNK) -> Iterator[bytes]:
        stream = self.open(key)
        try:
            while True:
                block = stream.read(chunk)
                if not block:
                    return
                yield block
        finally:
            stream.close()

    def read(self, key: str) -> bytes:
        return b"".join(self.iter_chunks(key))

    @abstractmethod
    def size(self, key: str) -> int | None:
        """Bytes stored under the key, None when absent."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def iter_keys(self, prefix: str = "") -> Iterator[str]: ...

    @abstractmethod
    def check(self) -> None:
        """Raise StorageUnavailable when the store cannot be used (cheap: one round trip)."""

    def download_url(self, key: str, *, filename: str, content_type: str, expires: int = 300) -> str | None:
        """A short-lived URL the browser may fetch directly (S3 presigned), or None when the backend has none."""
        return None

    def describe(self) -> str:
        return self.name
