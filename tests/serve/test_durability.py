"""Durable before 2xx: a server killed with SIGKILL and restarted loses and doubles nothing.

The kills are real (a subprocess server, SIGKILL): after acknowledged requests that no
increment consumed yet, and in the middle of an increment (before the state's commit and
after it). Clients re-send what they are unsure of; the state must end up holding every
acknowledged event exactly once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest
from dg_serve_world import START, Server, make_events, make_tokens, ndjson, store_ids

from distillguard.serve._wal import WriteAheadLog, read_segment


def _processes(entry: str) -> list[tuple[int, bytes]]:
    """(pid, contents of /proc/PID/<entry>) of every process still readable."""
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                out.append((int(p.name), (p / entry).read_bytes()))
            except OSError:
                continue
    return out


def _children_of(state: Path) -> list[int]:
    """Live increment subprocesses working on ``state``."""
    found = []
    for pid, raw in _processes("cmdline"):
        cmd = raw.split(b"\0")
        if b"distillguard.serve._increment_main" in cmd and str(state).encode() in cmd:
            found.append(pid)
    return found


def _call_quietly(srv: Server, tok: str) -> None:
    """The increment request whose server is killed under it (its error is the point)."""
    with contextlib.suppress(OSError):
        srv.call("POST", "/v1/admin/increment", tok)


def test_acknowledged_events_survive_kill9_and_resends_count_once(tmp_path):
    state = tmp_path / "state"
    tok = make_tokens(state)["all"]
    a, b = make_events(200, prefix="a"), make_events(120, prefix="b")
    srv = Server(state)
    try:
        assert srv.call("POST", "/v1/events", tok, ndjson(a))[0] == 200
        assert srv.call("POST", "/v1/events", tok, ndjson(b + a[-40:]))[0] == 200  # a re-send inside
    finally:
        srv.kill9()
    srv = Server(state)
    try:
        assert srv.call("POST", "/v1/events", tok, ndjson(b))[0] == 200  # the client retries b
        status, summary = srv.call("POST", "/v1/admin/increment", tok)
        assert status == 200, summary
        # the restart replayed the unconsumed segments on its own; the re-sent b adds nothing
        assert summary.get("events_new", 0) == 0
    finally:
        srv.stop()
    ids = store_ids(state)
    assert sorted(ids) == sorted(e["event_id"] for e in a + b)


@pytest.mark.parametrize("when", [pytest.param("before_commit", marks=pytest.mark.slow), "while_scoring"])
def test_kill9_during_an_increment(tmp_path, when):
    state = tmp_path / "state"
    tok = make_tokens(state)["all"]
    a = make_events(200, prefix="a")
    b = make_events(100, prefix="b", start=START + dt.timedelta(minutes=200))  # newer than a's watermark
    srv = Server(state)
    try:
        assert srv.call("POST", "/v1/events", tok, ndjson(a))[0] == 200
        caller = threading.Thread(target=_call_quietly, args=(srv, tok), daemon=True)
        caller.start()
        deadline = time.monotonic() + 120
        if when == "before_commit":
            while not _children_of(state) and time.monotonic() < deadline:
                time.sleep(0.01)
        else:
            while not list(state.glob(".scan-inc-*")) and time.monotonic() < deadline:
                time.sleep(0.01)
        assert time.monotonic() < deadline, srv.read_log()
    finally:
        srv.kill9()
    for _ in range(200):  # the child dies with the server (PR_SET_PDEATHSIG)
        if not _children_of(state):
            break
        time.sleep(0.05)
    assert not _children_of(state)
    srv = Server(state)
    try:
        assert srv.call("POST", "/v1/events", tok, ndjson(b))[0] == 200
        for _ in range(2):  # the first may only finish the killed one's work
            status, summary = srv.call("POST", "/v1/admin/increment", tok)
            assert status == 200, summary
        status, risk = srv.call("GET", "/v1/accounts/acct-1/risk", tok)
        assert status == 200 and risk["known"] is True
    finally:
        srv.stop()
    assert sorted(store_ids(state)) == sorted(e["event_id"] for e in a + b)


def test_torn_tail_of_a_killed_append_is_cut_on_restart(tmp_path):
    wal = WriteAheadLog(tmp_path / "wal", 1 << 30)
    wal.append(pa.table({"event_id": ["x", "y"]}), None)
    wal.close()
    seg = next((tmp_path / "wal").glob("seg-*.open"))
    whole = seg.stat().st_size
    with open(seg, "ab") as fh:  # a record cut short, as SIGKILL mid-write leaves it
        fh.write(b"DGW1E\x00\x10\x00\x00garbage")
    again = WriteAheadLog(tmp_path / "wal", 1 << 30)
    assert again.recovered_torn_bytes == 16
    closed = next((tmp_path / "wal").glob("seg-*.closed"))
    assert closed.stat().st_size == whole
    assert read_segment(closed).events[0]["event_id"].to_pylist() == ["x", "y"]


def _descendants(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the fourth field of /proc/PID/stat)."""
    return [p for p, stat in _processes("stat") if int(stat.rsplit(b")", 1)[1].split()[1]) == pid]


def _alive(pid: int) -> bool:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        state = next(ln for ln in lines if ln.startswith("State:"))
    except (OSError, StopIteration):
        return False
    return "zombie" not in state


@pytest.mark.parametrize("how", ["kill9", "terminate"])
def test_decode_workers_end_with_their_server(tmp_path, how):
    """A server's validation worker processes (``--decode-workers``) do not outlive it, whether
    it is stopped or killed with SIGKILL (no shutdown code runs then)."""
    state = tmp_path / "state"
    tok = make_tokens(state)["all"]
    srv = Server(state, extra=["--decode-workers", "1"])
    status, _ = srv.call("POST", "/v1/events", tok, ndjson(make_events(5)))
    assert status == 200
    workers = _descendants(srv.proc.pid)
    assert workers, "the server started no worker process"
    srv.kill9() if how == "kill9" else srv.stop()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    assert not [w for w in workers if _alive(w)]
