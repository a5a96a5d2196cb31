"""A real TAXII 2.1 server on loopback for tests, benchmarks and trying sharing out.

Runs medallion (the OASIS reference TAXII 2.1 server; a dev dependency) in a
subprocess with its in-memory backend, a small page size so pagination is exercised,
one API root and one read/write collection. Nothing here is used in production paths.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from distillguard.errors import DistillguardError

COLLECTION_ID = "3f7d0b7e-5c1d-4d8e-9a41-6b0d4c1f2e90"
API_ROOT = "api1"
#: How long to wait for the server to answer before giving up (seconds).
STARTUP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class LocalTaxii:
    """Where the loopback server listens and how to log in."""

    url: str  # API root URL
    discovery: str
    collection: str
    user: str
    password: str
    page_size: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _data(port: int) -> dict:
    base = f"http://127.0.0.1:{port}"
    return {
        "/discovery": {
            "title": "distillguard test TAXII server",
            "default": f"{base}/{API_ROOT}/",
            "api_roots": [f"{base}/{API_ROOT}/"],
        },
        API_ROOT: {
            "information": {
                "title": "sharing group",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 9765625,
            },
            "status": [],
            "collections": [
                {
                    "id": COLLECTION_ID,
                    "title": "distillation indicators",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }


@contextmanager
def local_taxii_server(
    *, page_size: int = 5, user: str = "partner", password: str = "s3cret-for-tests"
) -> Iterator[LocalTaxii]:
    """Start medallion on a free loopback port, wait until it answers, stop it afterwards."""
    try:
        import medallion  # noqa: F401
    except ImportError:
        raise DistillguardError("medallion is not installed (pip install 'distillguard[dev]')") from None
    import requests

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="dg-taxii-") as tmp:
        data_path = Path(tmp) / "data.json"
        data_path.write_text(json.dumps(_data(port)))
        config = {
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": str(data_path),
            },
            "users": {user: password},
            "taxii": {"max_page_size": page_size},
        }
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        log = (Path(tmp) / "server.log").open("w")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "medallion.scripts.run",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "ERROR",
                str(config_path),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise DistillguardError(f"medallion exited with status {proc.returncode}")
                try:
                    r = requests.get(
                        f"{base}/taxii2/",
                        headers={"Accept": "application/taxii+json;version=2.1"},
                        auth=(user, password),
                        timeout=1,
                    )
                    if r.status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise DistillguardError("medallion did not start in time")
                time.sleep(0.1)
            yield LocalTaxii(
                f"{base}/{API_ROOT}/", f"{base}/taxii2/", COLLECTION_ID, user, password, page_size
            )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
