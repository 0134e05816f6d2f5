"""A real local S3 server for the tests: moto in server mode, in a process of its own on a free port."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

S3_ENV = {"PORTAL_S3_ACCESS_KEY_ID": "testing", "PORTAL_S3_SECRET_ACCESS_KEY": "testing",
          "PORTAL_S3_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "MotoServer":
        exe = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("moto_server exited at start")
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def config(self, bucket: str) -> dict:
        """Flask config entries for the S3 backend on this server."""
        return {"STORAGE_BACKEND": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": self.url, "S3_PREFIX": "",
                "S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing",
                "S3_ADDRESSING_STYLE": "path", "S3_PRESIGNED_DOWNLOADS": False}

    def env(self, bucket: str) -> dict:
        """Environment variables for a portal process (gunicorn, worker) on this server."""
        return {**S3_ENV, "PORTAL_STORAGE": "s3", "PORTAL_S3_BUCKET": bucket, "PORTAL_S3_ENDPOINT_URL": self.url,
                "PORTAL_S3_ADDRESSING_STYLE": "path"}

    def create_bucket(self, bucket: str) -> None:
        import boto3

        boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=bucket)


def environ_without_aws() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
