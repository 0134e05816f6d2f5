"""`flask files …`: move documents between backends and check them against their SHA-256."""
from __future__ import annotations

import hashlib

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from portal.storage import BACKENDS, MissingObject, build_storage, get_storage

files_cli = AppGroup("files", help="Document storage: migrate between backends, verify hashes.")


class _Hashing:
    """A readable stream that hashes what passes through it (upload while checking the source)."""

    def __init__(self, stream):
        self.stream, self.hash, self.size = stream, hashlib.sha256(), 0

    def read(self, n=-1):
        block = self.stream.read(n)
        self.hash.update(block)
        self.size += len(block)
        return block


def _documents():
    """(key, sha256, content type) of every stored document, once per content."""
    from portal.db import db
    from portal.documents.models import StoredFile

    rows = db.session.execute(sa.select(StoredFile.path, StoredFile.sha256, sa.func.min(StoredFile.content_type))
                              .group_by(StoredFile.path, StoredFile.sha256).order_by(StoredFile.path))
    return list(rows)


def _digest_of(storage, key: str) -> str | None:
    h = hashlib.sha256()
    try:
        for block in storage.iter_chunks(key):
            h.update(block)
    except MissingObject:
        return None
    return h.hexdigest()


@files_cli.command("verify")
@click.option("--backend", type=click.Choice(BACKENDS), default=None, help="Check this backend (default: the "
              "configured one).")
def verify(backend):
    """Read every stored document and compare it with its SHA-256; exits 1 when one is missing or differs."""
    storage = build_storage(current_app.config, backend) if backend else get_storage()
    bad = 0
    docs = _documents()
    for key, sha, _ctype in docs:
        got = _digest_of(storage, key)
        if got is None:
            bad += 1
            click.echo(f"MISSING  {key}")
        elif got != sha:
            bad += 1
            click.echo(f"MISMATCH {key} (stored bytes hash to {got})")
    click.echo(f"{len(docs) - bad} of {len(docs)} documents match their SHA-256 in {storage.describe()}.")
    if bad:
        raise SystemExit(1)


@files_cli.command("migrate")
@click.option("--to", "target", type=click.Choice(BACKENDS), required=True, help="Backend to copy into.")
@click.option("--from", "source", type=click.Choice(BACKENDS), default="local", show_default=True)
def migrate(target, source):
    """Copy every stored document from one backend to the other, checking each against its SHA-256 on the way
    out and again read back from the target. Safe to run again (documents already there and intact are kept).
    Switch PORTAL_STORAGE afterwards; the source is left as it was."""
    if target == source:
        raise click.ClickException("--to and --from name the same backend.")
    src = build_storage(current_app.config, source)
    dst = build_storage(current_app.config, target)
    dst.check()
    copied = kept = 0
    failed: list[str] = []
    for key, sha, ctype in _documents():
        if dst.exists(key) and _digest_of(dst, key) == sha:
            kept += 1
            continue
        try:
            stream = src.open(key)
        except MissingObject:
            failed.append(f"{key}: missing in {src.describe()}")
            continue
        hashing = _Hashing(stream)
        try:
            dst.put_file(key, hashing, content_type=ctype or "application/octet-stream")
        finally:
            stream.close()
        if hashing.hash.hexdigest() != sha:
            dst.delete(key)
            failed.append(f"{key}: the source bytes do not match the recorded SHA-256 (not copied)")
            continue
        if _digest_of(dst, key) != sha:
            failed.append(f"{key}: read back from {dst.describe()} with another SHA-256")
            continue
        copied += 1
    for line in failed:
        click.echo(f"FAILED {line}")
    click.echo(f"Copied {copied}, already there {kept}, failed {len(failed)}: {src.describe()} -> "
               f"{dst.describe()}.")
    if failed:
        raise SystemExit(1)


@files_cli.command("create-bucket")
def create_bucket():
    """Create the configured S3 bucket when it is missing (MinIO and test set-ups)."""
    storage = get_storage()
    if storage.name != "s3":
        raise click.ClickException("PORTAL_STORAGE is not s3.")
    click.echo("created" if storage.create_bucket() else "exists")
