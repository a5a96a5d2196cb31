"""One state increment in a child process: ``python -m distillguard.serve._increment_main``.

Why a child process: scoring re-runs the batch pipeline over the whole store; in the
server's own process it would hold the GIL in bursts and stretch the risk lookups'
latency. The child dies with its parent (Linux ``PR_SET_PDEATHSIG``), so a server
killed with SIGKILL leaves no orphan holding the state's lock. It prints one JSON line:
the increment's summary, or ``{"error": ...}`` (exit 2) on a user-level failure.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("--scan-options", default="{}")
    ap.add_argument("--allowed-lateness-h", type=float, default=None)
    args = ap.parse_args(argv)
    from distillguard.errors import DistillguardError
    from distillguard.state import StateParams, run_increment

    params = StateParams() if args.allowed_lateness_h is None else StateParams(args.allowed_lateness_h)
    try:
        res = run_increment(args.state, args.input, params=params, scan_options=json.loads(args.scan_options))
    except DistillguardError as err:
        print(json.dumps({"error": str(err)}))
        return 2
    print(json.dumps(res.summary(), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
