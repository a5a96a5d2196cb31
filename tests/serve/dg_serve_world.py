"""Small synthetic events, tokens and a real server subprocess on loopback for the serve tests."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import duckdb

SCOPES = ("ingest", "read", "admin")
START = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)


def make_events(n: int, *, prefix: str = "e", accounts: int = 6, start: dt.datetime = START) -> list[dict]:
    """``n`` valid events (schema v1) one minute apart over ``accounts`` accounts."""
    out = []
    for i in range(n):
        out.append(
            {
                "event_id": f"{prefix}-{i:05d}",
                "timestamp": (start + dt.timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
                "account_id": f"acct-{i % accounts}",
                "model": "frontier-1",
                "input_tokens": 100 + i % 50,
                "output_tokens": 400 + i % 70,
                "client_ip": f"198.51.100.{i % accounts + 1}",
                "prompt": f"Explain step by step how to solve problem {i % 37}.",
            }
        )
    return out


def ndjson(events: list[dict]) -> bytes:
    return ("\n".join(json.dumps(e) for e in events) + "\n").encode()


def make_tokens(state: Path) -> dict[str, str]:
    """One token per scope plus ``all`` (every scope), written to the state's tokens file."""
    from distillguard.serve._app import init_state, serve_paths
    from distillguard.serve._auth import TokenStore

    init_state(state)
    store = TokenStore(serve_paths(state)["tokens"])
    tokens = {s: store.create([s], s) for s in SCOPES}
    tokens["all"] = store.create(list(SCOPES), "all")
    return tokens


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def store_ids(state: Path) -> list[str]:
    """Every event id in the state's committed store (with repeats, if any)."""
    files = list((state / "store" / "events").glob("day=*/*.parquet"))
    if not files:
        return []
    con = duckdb.connect()
    rows = con.execute("SELECT event_id FROM read_parquet(?)", [[str(f) for f in files]]).fetchall()
    return [r[0] for r in rows]


class Server:
    """``distillguard serve`` in a subprocess on 127.0.0.1 (killable with SIGKILL)."""

    def __init__(self, state: Path, *, interval: float = 3600.0, extra: list[str] | None = None) -> None:
        self.state = state
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "distillguard.cli", "serve", "--state", str(state)]
        cmd += ["--port", str(self.port), "--increment-interval", str(interval), *(extra or [])]
        self.log = open(state.parent / f"server-{self.port}.log", "wb")  # noqa: SIM115
        # a killed server's increment cannot remove its scratch directory: keep it beside the state
        env = {**os.environ, "TMPDIR": str(state.parent)}
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.read_log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server not ready: {self.read_log()}")

    def read_log(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-2000:]

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if not self.log.closed:
            self.log.close()

    def call(
        self, method: str, path: str, token: str | None, body: Any = None, **headers: str
    ) -> tuple[int, Any]:
        data = body if isinstance(body, bytes | None) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in headers.items():
            req.add_header(k.replace("_", "-"), v)
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw
