"""The HTTP API (FastAPI): ingest, risk lookups, admin, metrics, health.

Imported only by ``distillguard serve`` (FastAPI is the optional ``serve`` extra).

Routes and scopes::

    GET  /healthz                       no token
    POST /v1/events                     ingest   NDJSON, event schema v1 (gzip allowed)
    POST /v1/traces                     ingest   OTLP/HTTP traces, protobuf or JSON (gzip allowed)
    GET  /v1/accounts/{id}/risk         read
    POST /v1/risk:batch                 read     {"account_ids": [...]}
    GET  /metrics                       read     Prometheus text format
    POST /v1/admin/increment            admin    run an increment now, return its summary
    GET  /v1/admin/status               admin    WAL backlog, last increment, parameters

An ingest response is sent only after the accepted rows are fsync'ed to the WAL.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from distillguard.serve._auth import TokenStore
from distillguard.serve._decode import (
    BadBody,
    Decoded,
    decode_ndjson,
    decode_otlp,
    inflate,
    quarantine_preview,
)
from distillguard.serve._metrics import Metrics
from distillguard.serve._params import ServeParams
from distillguard.serve._risk import RiskIndex
from distillguard.serve._wal import WriteAheadLog
from distillguard.serve._webhooks import Webhooks, events_for, load_or_create_secret
from distillguard.serve._worker import IncrementWorker, die_with_parent, notable_changes

SERVE_DIR = "serve"


def serve_paths(state: Path) -> dict[str, Path]:
    root = state / SERVE_DIR
    return {
        "root": root,
        "wal": root / "wal",
        "tmp": root / "tmp",
        "tokens": root / "tokens.json",
        "webhook_secret": root / "webhook_secret",
    }


def init_state(state: Path) -> None:
    """Create (or recover) the state so ``DIR/serve/`` may live inside it."""
    from distillguard.state import StateStore

    StateStore(state).close()


@dataclass
class Runtime:
    """Everything one server holds; the app's routes read it."""

    state: Path
    params: ServeParams
    tokens: TokenStore
    wal: WriteAheadLog
    metrics: Metrics
    webhooks: Webhooks
    worker: IncrementWorker | None = None
    decode_pool: Any = None  #: a ProcessPoolExecutor when ``decode_workers`` > 0
    index: RiskIndex = field(default_factory=RiskIndex.empty)
    started_at: float = field(default_factory=time.time)

    def swap_index(self, index: RiskIndex, summary: dict[str, Any]) -> None:
        previous = self.index
        self.index = index
        self.metrics.risk_accounts.set(len(index.accounts))
        wm = summary.get("watermark")
        if wm:
            self.metrics.watermark.set(dt.datetime.fromisoformat(wm).timestamp())
        cursor = self.webhooks.cursor()
        changes = notable_changes(self.state, int(cursor.get("increment", 0)))
        events, nxt = events_for(changes, index.campaigns, cursor, summary.get("increment"))
        self.webhooks.enqueue(events, nxt)
        del previous


def build_runtime(
    state: Path,
    params: ServeParams,
    *,
    tokens_path: Path | None = None,
    scan_options: dict[str, Any] | None = None,
    allowed_lateness_h: float | None = None,
    background: bool = True,
) -> Runtime:
    init_state(state)
    paths = serve_paths(state)
    for leftover in (paths["tmp"], paths["root"] / "batch"):  # a killed server's request files
        shutil.rmtree(leftover, ignore_errors=True)
    paths["tmp"].mkdir(parents=True, exist_ok=True)
    metrics = Metrics.create()
    secret = load_or_create_secret(paths["webhook_secret"]) if params.webhook_urls else b""
    rt = Runtime(
        state=state,
        params=params,
        tokens=TokenStore(tokens_path or paths["tokens"]),
        wal=WriteAheadLog(paths["wal"], params.segment_max_bytes),
        metrics=metrics,
        webhooks=Webhooks(
            paths["root"],
            params.webhook_urls,
            secret,
            max_attempts=params.webhook_max_attempts,
            backoff_s=params.webhook_backoff_s,
            timeout_s=params.webhook_timeout_s,
            on_result=lambda outcome: metrics.webhooks.labels(outcome).inc(),
        ),
    )
    rt.index = RiskIndex.load(state / "scan")
    metrics.risk_accounts.set(len(rt.index.accounts))

    def on_result(result: str, seconds: float) -> None:
        metrics.increments.labels(result).inc()
        if result == "ok":
            metrics.increment_seconds.set(seconds)

    rt.worker = IncrementWorker(
        state,
        rt.wal,
        interval_s=params.increment_interval_s,
        timeout_s=params.increment_timeout_s,
        scan_options={"progress": False, "report": False, **(scan_options or {})},
        allowed_lateness_h=allowed_lateness_h,
        nice=params.increment_nice,
        on_index=rt.swap_index,
        on_result=on_result,
    )
    if params.decode_workers:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")  # no fork of a process with running threads
        # a pool worker never sees its server go (it holds both ends of its task queue): it is
        # killed with it (PR_SET_PDEATHSIG, as the increment child). A spawn-context pool starts
        # all its workers at the first submit below, from this thread, whose end that watches.
        rt.decode_pool = ProcessPoolExecutor(
            params.decode_workers, mp_context=ctx, initializer=die_with_parent, initargs=(os.getpid(),)
        )
        # import the validator in each before the port opens (spawned workers start cold)
        for fut in [rt.decode_pool.submit(_warm_up) for _ in range(params.decode_workers)]:
            fut.result()
    if background:
        rt.worker.start()
        rt.webhooks.start()
    return rt


def _warm_up() -> None:
    import distillguard.ingest._run  # noqa: F401


def denial(tokens: TokenStore, authorization: str, scope: str) -> tuple[int, str] | None:
    """(status, message) when a request may not use ``scope``; None when it may."""
    kind, _, token = authorization.partition(" ")
    token = token.strip()
    if kind.lower() != "bearer" or not token:
        return 401, "missing bearer token"
    scopes = tokens.scopes_of(token)
    if scopes is None:
        return 401, "unknown token"
    if scope not in scopes:
        return 403, f"token lacks the {scope} scope"
    return None


RISK_PREFIX, RISK_SUFFIX = "/v1/accounts/", "/risk"
RISK_ROUTE = "/v1/accounts/{account_id}/risk"
_JSON = [(b"content-type", b"application/json")]
_CHALLENGE = (b"www-authenticate", b'Bearer realm="distillguard"')


class FrontDoor:
    """Pure ASGI in front of FastAPI: times every request and answers risk lookups itself.

    Why the lookup bypasses the framework: it is the gateway's per-request call, a dict
    read; routing, dependency injection and a middleware stack would cost several times
    the lookup. It applies the same token check (:func:`denial`) as every other route.
    """

    def __init__(self, app: Any, rt: Runtime) -> None:
        self.app, self.rt = app, rt
        m = rt.metrics
        # labelled children bound once: prometheus_client's labels() took a third of a
        # lookup's CPU when called per request
        self._risk_latency = m.latency.labels(RISK_ROUTE)
        self._risk_known = {True: m.risk_lookups.labels("true"), False: m.risk_lookups.labels("false")}
        self._risk_ok = m.requests.labels(RISK_ROUTE, "200")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]
        if scope["method"] == "GET" and path.startswith(RISK_PREFIX) and path.endswith(RISK_SUFFIX):
            account = path[len(RISK_PREFIX) : -len(RISK_SUFFIX)]
            if account and "/" not in account:
                status = await self._risk(scope, account, send)
                if status == 200:
                    self._risk_latency.observe(time.perf_counter() - started)
                    self._risk_ok.inc()
                else:
                    self._observe(RISK_ROUTE, status, started)
                return
        seen = {"status": 500}

        async def send_and_see(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_see)
        finally:
            route = scope.get("route")
            self._observe(getattr(route, "path", "unmatched"), seen["status"], started)

    async def _risk(self, scope: dict[str, Any], account: str, send: Any) -> int:
        rt = self.rt
        auth = ""
        for k, v in scope["headers"]:
            if k == b"authorization":
                auth = v.decode("latin-1")
                break
        denied = denial(rt.tokens, auth, "read")
        if denied is not None:
            status, body = denied[0], json.dumps({"error": denied[1]}).encode()
            headers = [*_JSON, _CHALLENGE] if status == 401 else _JSON
        else:
            body, known = rt.index.answer(account, rt.params.actions, rt.params.top_reasons)
            self._risk_known[known].inc()
            status, headers = 200, _JSON
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return status

    def _observe(self, route: str, status: int, started: float) -> None:
        m = self.rt.metrics
        m.latency.labels(route).observe(time.perf_counter() - started)
        m.requests.labels(route, str(status)).inc()


def create_app(rt: Runtime) -> Any:
    """The FastAPI application over a runtime (tests build one without background threads)."""
    app = FastAPI(title="distillguard serve", docs_url=None, redoc_url=None, openapi_url=None)
    params = rt.params
    m = rt.metrics

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    class Denied(Exception):
        def __init__(self, status: int, message: str) -> None:
            self.status, self.message = status, message

    @app.exception_handler(Denied)
    async def _denied(_request: Request, exc: Denied) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer realm="distillguard"'} if exc.status == 401 else None
        return error(exc.status, exc.message, headers)

    def require(scope: str) -> Any:
        def check(request: Request) -> None:
            denied = denial(rt.tokens, request.headers.get("authorization", ""), scope)
            if denied is not None:
                raise Denied(*denied)

        return Depends(check)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse(
            {"status": "ok", "accounts": len(rt.index.accounts), "increment": rt.index.increment}
        )

    async def decode(fn: Any, *args: Any) -> Decoded:
        """Validate a body in the decode process pool when there is one, else in a thread."""
        if rt.decode_pool is None:
            return await run_in_threadpool(fn, *args)
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(rt.decode_pool, fn, *args)

    async def _body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > params.max_body_bytes:
            raise BadBody(f"body is larger than {params.max_body_bytes} bytes", 413)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > params.max_body_bytes:
                raise BadBody(f"body is larger than {params.max_body_bytes} bytes", 413)
            chunks.append(chunk)
        return inflate(b"".join(chunks), request.headers.get("content-encoding"), params.max_body_bytes)

    def _durable(decoded: Decoded, route: str) -> None:
        rt.wal.append(decoded.events, decoded.quarantine)
        m.events_accepted.labels(route).inc(decoded.accepted)
        for reason, n in decoded.reasons.items():
            m.events_quarantined.labels(route, reason).inc(n)

    def _summary(decoded: Decoded, request_id: str) -> dict[str, Any]:
        return {
            "request_id": request_id,
            "rows_read": decoded.rows_read,
            "accepted": decoded.accepted,
            "quarantined": decoded.quarantine.num_rows,
            "quarantined_by_reason": decoded.reasons,
            "quarantine": quarantine_preview(decoded.quarantine, params.max_quarantine_in_response),
            "skipped_non_genai_spans": decoded.skipped_spans,
        }

    @app.post("/v1/events", dependencies=[require("ingest")])
    async def post_events(request: Request) -> JSONResponse:
        request_id = uuid.uuid4().hex[:16]
        try:
            body = await _body(request)
            decoded = await decode(
                decode_ndjson, serve_paths(rt.state)["tmp"], body, f"http:/v1/events:{request_id}"
            )
        except BadBody as err:
            return error(err.status, str(err))
        await run_in_threadpool(_durable, decoded, "/v1/events")
        return JSONResponse(_summary(decoded, request_id))

    @app.post("/v1/traces", dependencies=[require("ingest")])
    async def post_traces(request: Request) -> Response:
        request_id = uuid.uuid4().hex[:16]
        ctype = request.headers.get("content-type", "")
        try:
            body = await _body(request)
            decoded = await decode(
                decode_otlp, serve_paths(rt.state)["tmp"], body, ctype, f"http:/v1/traces:{request_id}"
            )
        except BadBody as err:
            return error(err.status, str(err))
        await run_in_threadpool(_durable, decoded, "/v1/traces")
        rejected = decoded.quarantine.num_rows
        message = ", ".join(f"{n} {r}" for r, n in sorted(decoded.reasons.items()))
        if ctype.split(";")[0].strip().lower() in ("application/x-protobuf", "application/protobuf"):
            from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

            resp = ExportTraceServiceResponse()
            if rejected:
                resp.partial_success.rejected_spans = rejected
                resp.partial_success.error_message = f"quarantined: {message}"
            return Response(resp.SerializeToString(), media_type="application/x-protobuf")
        out: dict[str, Any] = {}
        if rejected:
            out["partialSuccess"] = {
                "rejectedSpans": str(rejected),
                "errorMessage": f"quarantined: {message}",
            }
        out["distillguard"] = _summary(decoded, request_id)
        return JSONResponse(out)

    @app.post("/v1/risk:batch", dependencies=[require("read")])
    async def risk_batch(request: Request) -> JSONResponse:
        try:
            doc = await request.json()
        except ValueError:
            return error(400, 'body is not JSON: send {"account_ids": ["...", ...]}')
        ids = doc.get("account_ids") if isinstance(doc, dict) else None
        if not isinstance(ids, list) or not all(isinstance(a, str) for a in ids):
            return error(400, 'send {"account_ids": ["...", ...]} (a list of strings)')
        if len(ids) > params.max_batch_accounts:
            return error(413, f"at most {params.max_batch_accounts} account ids per request")
        index = rt.index
        # the accounts' cached encoded answers joined, not one document encoded whole: a
        # batch runs on the event loop, and encoding 300 answers held every single lookup
        # behind it for ~4 ms on the bench machine
        answers = [index.answer(a, params.actions, params.top_reasons) for a in ids]
        known = sum(1 for _, k in answers if k)
        m.risk_lookups.labels("true").inc(known)
        m.risk_lookups.labels("false").inc(len(answers) - known)
        body = b'{"results": [' + b", ".join(a for a, _ in answers)
        body += b'], "increment": ' + json.dumps(index.increment).encode() + b"}"
        return Response(body, media_type="application/json")

    @app.get("/metrics", dependencies=[require("read")])
    async def metrics() -> Response:
        m.wal_backlog.set(sum(1 for _ in rt.wal.backlog()))
        data, ctype = m.exposition()
        return Response(data, media_type=ctype)

    @app.post("/v1/admin/increment", dependencies=[require("admin")])
    async def admin_increment() -> JSONResponse:
        assert rt.worker is not None
        summary = await run_in_threadpool(rt.worker.run_once)
        return JSONResponse(summary, status_code=500 if "error" in summary else 200)

    @app.get("/v1/admin/status", dependencies=[require("admin")])
    async def admin_status() -> JSONResponse:
        return JSONResponse(
            {
                "state": str(rt.state),
                "risk_index": {"accounts": len(rt.index.accounts), "increment": rt.index.increment},
                "wal_closed_segments": [p.name for p in rt.wal.backlog()],
                "wal_recovered_torn_bytes": rt.wal.recovered_torn_bytes,
                "last_increment": rt.worker.last if rt.worker else None,
                "params": {k: v["value"] for k, v in params.documented().items()},
            }
        )

    return FrontDoor(app, rt)
