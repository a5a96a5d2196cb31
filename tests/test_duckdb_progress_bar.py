"""DuckDB's own progress bar never reaches stdout (it would corrupt ``--json`` output and logs)."""

from __future__ import annotations

import re
from pathlib import Path

from distillguard import _duck

SRC = Path(__file__).resolve().parents[1] / "src" / "distillguard"


def test_connections_have_the_bar_off() -> None:
    con = _duck.connect()
    assert con.sql("SELECT current_setting('enable_progress_bar')").fetchall() == [(False,)]


def test_every_connection_turns_it_off() -> None:
    """Every ``duckdb.connect(...)`` but ``_duck``'s own must go through ``_duck.connect`` or set
    the bar off."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "_duck.py":
            continue
        text = path.read_text()
        for m in re.finditer(r"duckdb\.connect\(", text):
            after = text[m.end() : m.end() + 200]
            if "enable_progress_bar = false" not in after:
                offenders.append(f"{path.relative_to(SRC)}:{text[: m.start()].count(chr(10)) + 1}")
    assert offenders == []
