"""DuckDB connections (in memory or a database file) that never draw DuckDB's own progress bar.

DuckDB prints a progress bar on stdout for queries longer than two seconds, also when stdout
is a pipe: it would corrupt ``--json`` output and logs (the commands report progress on
stderr themselves). The setting is per connection and cannot be given to ``connect``.
"""

from __future__ import annotations

from typing import Any


def connect(database: str = ":memory:", **kwargs: Any) -> Any:
    """``duckdb.connect(database, **kwargs)`` with ``enable_progress_bar`` off."""
    import duckdb

    con = duckdb.connect(database, **kwargs)
    con.execute("SET enable_progress_bar = false")
    return con


def backend(**settings: Any) -> Any:
    """An Ibis DuckDB backend over :func:`connect` (Ibis sets the session zone to UTC), with
    DuckDB ``settings`` applied (``preserve_insertion_order=False`` for big aggregations)."""
    import ibis

    be = ibis.duckdb.from_connection(connect())
    for name, value in settings.items():
        be.settings[name] = value
    return be
