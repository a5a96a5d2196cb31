"""ctrl-C during a scan: 'interrupted' and exit 130, also when DuckDB wraps the interrupt itself."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

DISTILLGUARD = Path(sys.executable).with_name("distillguard")
#: Seconds into the replay stage (several seconds of DuckDB queries on ``tiny``) before ctrl-C.
REPLAY_GRACE_S = 1.0


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background runner may have it ignored


def test_ctrl_c_in_the_middle_of_a_scan_exits_130(tiny_dir: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(DISTILLGUARD), "scan", str(tiny_dir), "--out", str(tmp_path / "s")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_default,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # progress lines: interrupt inside the replay, DuckDB queries mostly
        seen.append(line)
        if "detect done" in line:
            time.sleep(REPLAY_GRACE_S)
            proc.send_signal(signal.SIGINT)
            break
    _, rest = proc.communicate(timeout=300)
    err = "".join(seen) + rest
    assert proc.returncode == 130, err
    assert err.rstrip().endswith("interrupted") and "Traceback" not in err
