"""The local-folder backend: ``UPLOAD_FOLDER/ab/abcdef…`` (the embedded default; one host only, or a shared
filesystem)."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from portal.storage.base import CHUNK, MissingObject, Storage, StorageError, StorageUnavailable


class LocalStorage(Storage):
    name = "local"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts) or key.startswith("/"):
            raise StorageError(f"invalid storage key {key!r}")
        return self.root.joinpath(*parts)

    def path(self, key: str) -> Path:
        return self._path(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def put_file(self, key, fileobj, *, content_type="application/octet-stream") -> None:
        full = self._path(key)
        full.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=full.parent, prefix=".tmp-", suffix=f".{os.getpid()}")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(fileobj, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, full)  # atomic: a reader sees the whole object or none
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def put_path(self, key, path, *, content_type="application/octet-stream") -> None:
        with open(path, "rb") as fh:
            self.put_file(key, fh, content_type=content_type)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError as exc:
            raise MissingObject(f"no stored object {key}") from exc

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        base = self.root
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                key = Path(dirpath, name).relative_to(base).as_posix()
                if key.startswith(prefix):
                    yield key

    def check(self) -> None:
        if not self.root.is_dir():
            raise StorageUnavailable(f"the upload folder {self.root} does not exist")
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailable(f"the upload folder {self.root} is not writable")

    def describe(self) -> str:
        return f"local folder {self.root}"
