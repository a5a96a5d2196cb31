"""Run the app under uvicorn with the runtime's threads started and stopped around it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from distillguard.serve._params import ServeParams


def run_server(
    state: Path,
    params: ServeParams,
    *,
    host: str,
    port: int,
    tokens_path: Path | None,
    scan_options: dict[str, Any],
    allowed_lateness_h: float | None,
) -> None:
    import uvicorn

    from distillguard.serve._app import build_runtime, create_app

    rt = build_runtime(
        state,
        params,
        tokens_path=tokens_path,
        scan_options=scan_options,
        allowed_lateness_h=allowed_lateness_h,
    )
    if not rt.tokens.entries:
        print(
            f"warning: no tokens yet; every request but /healthz gets 401. Create one with:"
            f" distillguard serve token create --state {state} --scope read",
            file=sys.stderr,
        )
    app = create_app(rt)
    print(
        f"distillguard serve: state {state}, listening on http://{host}:{port}", file=sys.stderr, flush=True
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        assert rt.worker is not None
        rt.worker.stop()
        rt.webhooks.stop()
        rt.wal.close()
        if rt.decode_pool is not None:
            rt.decode_pool.shutdown(wait=True, cancel_futures=True)
