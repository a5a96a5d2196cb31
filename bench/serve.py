"""``distillguard serve`` under load on loopback: ingest rate, risk latency, live time to detection.

Simulates a scenario (default ``tiny``), starts ``distillguard serve`` in a subprocess on
127.0.0.1 with a webhook receiver beside it, then:

1. **Ingest**: posts every event as NDJSON (``--batch`` events per request, ``--senders``
   concurrent connections) to a fresh server as fast as it answers; prints events/s
   (each 2xx means the batch was validated and fsync'ed to the write-ahead log).
2. **Live replay**: a second fresh server (an increment starts every ``--interval`` s) gets the same
   events in time order at ``--speedup`` x real time (each ``--tick`` s of wall time sends
   the events whose time has come) while a load generator process asks
   ``GET /v1/accounts/{id}/risk`` at ``--rate`` requests/s (open loop over ``--connections``
   keep-alive connections; latency from the scheduled send time, so a stalled server counts
   and so does a late send of the generator's own, printed apart). A watcher polls
   ``POST /v1/risk:batch`` for every campaign member once a second; a campaign is detected
   when a member's live verdict is ``attack``, and its time to detection is the share of
   the campaign's exchanges whose time had been replayed by then.

Every loop is bounded (``--max-seconds``); nothing listens beyond 127.0.0.1.

    .venv/bin/python bench/serve.py                       # tiny, speedup 3600, 1,000 risk req/s
    .venv/bin/python bench/serve.py --speedup 1800 --rate 500 --interval 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import itertools
import json
import multiprocessing as mp
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "serve"))
from dg_serve_world import Server, make_tokens

from seed_scale import _benign_ever_attack


def _encode(events) -> tuple[list[bytes], list[float]]:
    """NDJSON lines (event schema v1) and their epoch seconds, in time order."""
    events = events.sort_by([("timestamp", "ascending"), ("event_id", "ascending")])
    ts = [t.timestamp() for t in events["timestamp"].to_pylist()]
    lines = []
    for row in events.to_pylist():
        doc = {}
        for k, v in row.items():
            if v is None:
                continue
            doc[k] = v.isoformat().replace("+00:00", "Z") if hasattr(v, "isoformat") else v
        lines.append(json.dumps(doc).encode())
    return lines, ts


def _post(conn: http.client.HTTPConnection, token: str, body: bytes) -> dict:
    conn.request("POST", "/v1/events", body, {"Authorization": f"Bearer {token}"})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"POST /v1/events -> {resp.status}: {data[:200]!r}")
    return json.loads(data)


def ingest_rate(lines: list[bytes], url_port: int, token: str, batch: int, senders: int) -> tuple[float, int]:
    bodies = [b"\n".join(lines[i : i + batch]) + b"\n" for i in range(0, len(lines), batch)]
    accepted = [0] * senders

    def send(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", url_port, timeout=300)
        for body in bodies[k::senders]:
            accepted[k] += _post(conn, token, body)["accepted"]
        conn.close()

    threads = [threading.Thread(target=send, args=(k,)) for k in range(senders)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, sum(accepted)


class _Conn:
    """One keep-alive connection of the load generator: one request in flight at a time."""

    def __init__(self, port: int) -> None:
        import httptools

        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.parser = httptools.HttpResponseParser(self)
        self.due = 0.0
        self.done = False
        self.busy = False

    def on_message_complete(self) -> None:
        self.done = True


def _load(
    port: int, token: str, ids: list[str], rate: float, seconds: float, out: mp.Queue, connections: int
) -> None:
    """Open-loop risk lookups at ``rate``/s for ``seconds``; latency from the scheduled time.

    Why not one blocking connection: a request due while the previous answer is still
    on its way would wait for it, so one slow answer delays the next ones by the client's
    own doing (a gateway sends its lookups concurrently). Here each request goes out at
    its scheduled time on an idle connection of a pool of ``connections`` (only when all
    are busy does it wait, and that wait counts). One thread, non-blocking sockets, a
    select() timeout to the next scheduled send (microsecond resolution: asyncio's
    timers round to milliseconds, which the bench would then measure), and httptools
    (uvicorn's C parser) for the answers: the generator costs little CPU, which on a
    2-core machine is CPU the server gets.
    """
    import selectors
    from collections import deque

    auth = f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
    heads = [f"GET /v1/accounts/{a}/risk HTTP/1.1\r\n{auth}".encode() for a in ids]
    sel = selectors.SelectSelector()  # select(): a timeout in microseconds
    pool: set[_Conn] = set()
    idle: deque[_Conn] = deque()  # round robin: every connection stays in use (and open)
    waiting: deque[tuple[float, int]] = deque()  # (due, request) while every connection is busy
    lat: list[float] = []
    late: list[float] = []  # scheduled -> sent: the generator's own delay (included in lat)
    errors = 0

    def fresh() -> _Conn:
        c = _Conn(port)
        pool.add(c)
        sel.register(c.sock, selectors.EVENT_READ, c)
        return c

    def drop(c: _Conn) -> None:
        pool.discard(c)
        sel.unregister(c.sock)
        c.sock.close()

    def free(c: _Conn) -> None:
        """``c`` can take a request: the oldest waiting one, else it joins the idle ones."""
        nonlocal errors
        while waiting:
            due, k = waiting.popleft()
            c.due, c.done, c.busy = due, False, True
            try:
                c.sock.sendall(heads[k % len(heads)])
            except OSError:  # closed under us: this request failed, try the next on a new one
                errors += 1
                drop(c)
                c = fresh()
                continue
            late.append(time.perf_counter() - due)
            return
        c.busy = False
        idle.append(c)

    for _ in range(connections):
        free(fresh())
    n = int(rate * seconds)
    start = time.perf_counter()
    i = 0
    while (i < n or len(idle) < len(pool)) and time.perf_counter() < start + seconds + 10:
        now = time.perf_counter()
        while i < n and start + i / rate <= now:
            waiting.append((start + i / rate, i))
            i += 1
        while waiting and idle:
            free(idle.popleft())
        timeout = max(0.0, start + i / rate - time.perf_counter()) if i < n else 0.05
        for key, _ in sel.select(timeout):
            c = key.data
            try:
                data = c.sock.recv(65536)
                if not data:
                    raise ConnectionError("closed by the server")
                c.parser.feed_data(data)
            except Exception:
                # an idle keep-alive connection the server closed is no error; one with a
                # request in flight is. Either way a new connection takes its place.
                errors += c.busy
                if not c.busy:
                    idle.remove(c)
                drop(c)
                free(fresh())
                continue
            if c.done:
                lat.append(time.perf_counter() - c.due)
                errors += c.parser.get_status_code() != 200
                free(c)
    for c in pool:
        c.sock.close()
    out.put(
        {
            "latencies": lat,
            "late": late,
            "errors": errors,
            "seconds": time.perf_counter() - start,
            "cpu_s": time.process_time(),
        }
    )


class _Hooks:
    """A loopback webhook receiver that counts event types."""

    def __init__(self) -> None:
        self.types: dict[str, int] = {}
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                kind = json.loads(body).get("type", "?")
                outer.types[kind] = outer.types.get(kind, 0) + 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def _increments(state: Path) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(state / "state.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT id, seconds, epoch(watermark) FROM increments WHERE scored_at IS NOT NULL ORDER BY id"
        ).fetchall()
    finally:
        con.close()


def _server_side(metrics: str, route: str) -> str:
    """p50/p99 upper bucket bounds of a route's latency histogram (Prometheus text)."""
    buckets = []
    for line in metrics.splitlines():
        if line.startswith("dg_http_request_seconds_bucket{") and f'route="{route}"' in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(le), float(line.rsplit(" ", 1)[1])))
    if not buckets or buckets[-1][1] == 0:
        return "no samples"
    total = buckets[-1][1]
    pick = lambda q: next(le for le, n in buckets if n >= q * total)  # noqa: E731
    return f"p50 <= {pick(0.5) * 1000:g} ms, p99 <= {pick(0.99) * 1000:g} ms over {total:,.0f} lookups"


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="tiny")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--batch", type=int, default=5000, help="events per ingest request")
    ap.add_argument("--senders", type=int, default=4, help="concurrent ingest connections")
    ap.add_argument(
        "--repeat", type=int, default=3, help="ingest phase: send the events this many times (new ids)"
    )
    ap.add_argument("--speedup", type=float, default=3600.0, help="replayed seconds per wall second")
    ap.add_argument("--tick", type=float, default=0.25, help="wall seconds between replay posts")
    ap.add_argument("--interval", type=float, default=5.0, help="server increment interval (s)")
    ap.add_argument("--rate", type=float, default=1000.0, help="risk lookups per second")
    ap.add_argument(
        "--connections", type=int, default=8, help="load generator's keep-alive connections (open loop)"
    )
    ap.add_argument("--decode-workers", type=int, default=0, help="server's --decode-workers")
    ap.add_argument("--ingest-only", action="store_true", help="stop after the ingest measurement")
    ap.add_argument("--max-seconds", type=float, default=400.0, help="bound on the replay phase")
    args = ap.parse_args()

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from distillguard.ingest import open_events
    from distillguard.simulate import simulate

    work = args.work or Path(tempfile.mkdtemp(prefix="dg-bench-serve-"))
    sim = work / "sim"
    if not (sim / "labels.parquet").exists():
        simulate(args.scenario, sim, seed=args.seed, progress=False)
    events = open_events(sim).to_table()
    labels = pq.read_table(sim / "labels.parquet").to_pylist()
    lines, ts = _encode(events)
    print(f"{args.scenario} seed {args.seed}: {len(lines):,} events, {len(labels):,} accounts; work {work}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} at the start; figures are what this run saw")

    # 1. ingest rate --------------------------------------------------------------------
    for old in ("state-ingest", "state-live"):  # fresh servers: a re-run must not reuse a state
        shutil.rmtree(work / old, ignore_errors=True)
    state = work / "state-ingest"
    tok = make_tokens(state)["all"]
    decode = ["--decode-workers", str(args.decode_workers)]
    srv = Server(state, interval=3600, extra=decode)
    try:
        copies = [
            ln.replace(b'"event_id": "', f'"event_id": "r{k}-'.encode(), 1)
            for k in range(args.repeat)
            for ln in lines
        ]
        secs, accepted = ingest_rate(copies, srv.port, tok, args.batch, args.senders)
    finally:
        srv.stop()
    print(
        f"ingest: {accepted:,} events accepted (fsync'ed) in {secs:.2f} s = {accepted / secs:,.0f} events/s"
        f" ({args.batch} per request, {args.senders} connections, decode workers {args.decode_workers})"
    )

    if args.ingest_only:
        return 0
    # 2. live replay + risk load ------------------------------------------------------------
    campaigns: dict[str, set[str]] = {}
    for row in labels:
        if row["is_attack"] and row.get("campaign"):
            campaigns.setdefault(row["campaign"], set()).add(row["account_id"])
    acc_col = events["account_id"]
    camp_ts: dict[str, list[float]] = {}
    for cid, members in campaigns.items():
        mask = pc.is_in(acc_col, value_set=__import__("pyarrow").array(sorted(members)))
        camp_ts[cid] = sorted(t.timestamp() for t in events.filter(mask)["timestamp"].to_pylist())
    hooks = _Hooks()
    state = work / "state-live"
    tok = make_tokens(state)["all"]
    srv = Server(state, interval=args.interval, extra=["--webhook", hooks.url, *decode])
    ids = [r["account_id"] for r in labels] + [f"unknown-{i}" for i in range(100)]
    t0_sim = ts[0]
    span = (ts[-1] - ts[0]) / args.speedup + 2 * args.interval + 30
    ctx = mp.get_context("spawn")  # no fork of this process's threads and sockets
    q = ctx.Queue()
    loader = ctx.Process(
        target=_load,
        args=(srv.port, tok, ids, args.rate, min(span, args.max_seconds), q, args.connections),
    )
    detected: dict[str, float] = {}
    flagged_at: dict[str, dt.datetime] = {}
    stop = threading.Event()
    start = time.perf_counter()

    def replay_clock() -> float:
        return t0_sim + (time.perf_counter() - start) * args.speedup

    def watch() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        members = sorted(set().union(*campaigns.values()))
        while not stop.is_set():
            body = json.dumps({"account_ids": members}).encode()
            conn.request("POST", "/v1/risk:batch", body, {"Authorization": f"Bearer {tok}"})
            res = json.loads(conn.getresponse().read())["results"]
            attack = {r["account_id"]: r["flagged_at"] for r in res if r["verdict"] == "attack"}
            now = min(replay_clock(), ts[-1])
            for cid, mem in campaigns.items():
                hit = [attack[a] for a in mem if a in attack]
                if cid not in detected and hit:
                    detected[cid] = now
                    # the event time of the data it was flagged on: the increment's watermark
                    flagged_at[cid] = min(dt.datetime.fromisoformat(f.replace("Z", "+00:00")) for f in hit)
            stop.wait(1.0)

    watcher = threading.Thread(target=watch, daemon=True)
    sent = 0
    try:
        loader.start()
        watcher.start()
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=300)
        while sent < len(lines) and time.perf_counter() - start < args.max_seconds:
            due = replay_clock()
            end = sent
            while end < len(lines) and ts[end] <= due:
                end += 1
            if end > sent:
                _post(conn, tok, b"\n".join(lines[sent:end]) + b"\n")
                sent = end
            time.sleep(args.tick)
        drain = time.perf_counter() + 3 * args.interval + 60  # let the last increments land
        while len(detected) < len(campaigns) and time.perf_counter() < drain:
            time.sleep(1)
        stop.set()
        result = q.get(timeout=max(30.0, span + 60 - (time.perf_counter() - start)))
        loader.join(10)
        status = srv.call("GET", "/v1/admin/status", tok)[1]
        metrics = srv.call("GET", "/metrics", tok)[1].decode()
    finally:
        stop.set()
        if loader.is_alive():
            loader.terminate()
        srv.stop()
    wall = time.perf_counter() - start
    lat = [x * 1000 for x in result["latencies"]]
    print(
        f"replay: {sent:,} events at {args.speedup:g}x in {wall:.0f} s wall;"
        f" increments every {args.interval:g} s (last: {status['last_increment'].get('seconds_total')} s)"
    )
    print(
        f"risk lookups: {len(lat):,} at {args.rate:g}/s target"
        f" ({len(lat) / result['seconds']:,.0f}/s achieved),"
        f" errors {result['errors']}; latency p50 {_pct(lat, 0.5):.2f} ms, p99 {_pct(lat, 0.99):.2f} ms,"
        f" max {max(lat):.1f} ms"
    )
    late = [x * 1000 for x in result["late"]]
    print(
        f"  load generator ({args.connections} connections, open loop): sent p50 {_pct(late, 0.5):.2f} ms,"
        f" p99 {_pct(late, 0.99):.2f} ms after the scheduled time (included above);"
        f" its CPU {result['cpu_s'] / max(1, len(lat)) * 1e6:.0f} us per lookup"
    )
    inside = _server_side(metrics, "/v1/accounts/{account_id}/risk")
    print(f"  server-side (ASGI entry to response, /metrics histogram): {inside}")
    print(f"webhooks received: {hooks.types}")
    incs = _increments(state)
    if incs:
        secs = sorted(r[1] or 0.0 for r in incs)
        marks = [r[2] for r in incs if r[2] is not None]
        gaps = sorted((b - a) / 3600 for a, b in itertools.pairwise(marks))
        cadence = f"{gaps[len(gaps) // 2]:.1f} h" if gaps else "n/a"
        print(
            f"increments: {len(incs)} scored; scoring seconds median {secs[len(secs) // 2]:.1f},"
            f" max {secs[-1]:.1f} (each re-scores the whole store); replayed time between"
            f" consecutive watermarks: median {cadence} (detection cannot be finer than this)"
        )
    ok_live = ok_data = 0
    for cid in sorted(campaigns):
        times = camp_ts[cid]
        first = dt.datetime.fromtimestamp(times[0], dt.UTC).strftime("%m-%d %H:%M")
        head = f"  {cid}: {len(campaigns[cid])} accounts, {len(times):,} exchanges from {first};"
        if cid not in detected:
            print(f"{head} NOT flagged (attack) live")
            continue
        live = sum(1 for t in times if t <= detected[cid]) / len(times)
        data = sum(1 for t in times if t <= flagged_at[cid].timestamp()) / len(times)
        ok_live += live < 0.05
        ok_data += data < 0.05
        when = dt.datetime.fromtimestamp(detected[cid], dt.UTC).strftime("%m-%d %H:%M")
        print(
            f"{head} seen live at replay time {when} = after {live:.1%} of them;"
            f" flagged_at {flagged_at[cid]:%m-%d %H:%M} = after {data:.1%}"
        )
    n = len(campaigns)
    print(
        f"campaigns flagged before 5% of their exchanges: {ok_live}/{n} by the replay clock when the live"
        f" verdict was first seen (includes increment lag x speedup), {ok_data}/{n} by flagged_at"
    )
    # the live verdicts' false attacks, which the last increment's FPR does not show
    benign = _benign_ever_attack(state, sim)
    print(
        f"benign accounts attack in some increment: {benign['ever_attack']}, still at the last:"
        f" {benign['attack_at_last_increment']}; per persona [accounts, longest spell in replayed hours]:"
        f" {benign['accounts_and_longest_h_by_persona']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
