"""Generate hold-out-5 traffic, scan it four ways, evaluate, print per-persona recall and FPR.

    .venv/bin/python bench/holdout5/run.py --seeds 0 1 --work /tmp/holdout5 [--reuse] [--replay]
    PYTHONPATH=/tmp/h5base/src .venv/bin/python bench/holdout5/run.py ...   # a fixed revision

The runner is hold-out 4's (``bench/holdout4/run.py``: four scan modes, ``distillguard
evaluate``, one Markdown table) with this generator and this hold-out's personas: its classic
fleet and the three adaptive operators, each compared with the fleet. Only the runner is
shared; the generators stay apart so neither is written from the other.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("holdout4_run", HERE.parent / "holdout4" / "run.py")
assert _spec is not None and _spec.loader is not None
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)  # puts bench/holdout4 first on sys.path ...
sys.path.insert(0, str(HERE))  # ... so this hold-out's generate.py goes before it again
runner.CLASSIC = "atk_classic_fleet"
runner.ADAPTIVE = ("atk_adaptive_aged", "atk_adaptive_math", "atk_adaptive_lowshare")

if __name__ == "__main__":
    raise SystemExit(runner.main())
