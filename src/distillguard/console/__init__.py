"""The analyst console: review queue, account and campaign investigation, decisions.

``distillguard console --state DIR`` serves server-rendered pages (FastAPI + Jinja2) over
a state directory of ``scan --state``: a queue of flagged accounts and campaigns, an
account page (every signal with its threshold and population percentile, why the verdict
is what it is, a timeline), a campaign page (link groups as a graph, the values behind
each link, per-member timelines) and confirm / dismiss / escalate decisions stored in the
state, which the next increment applies (``distillguard.state._decisions``).

Import-light: FastAPI loads in :func:`create_app`.
"""

from __future__ import annotations

from typing import Any


def create_app(state: Any, *, analyst: str = "analyst", infra: list[Any] | None = None) -> Any:
    """The console's ASGI app for the state directory ``state``."""
    from pathlib import Path

    from distillguard.console._app import ConsoleConfig
    from distillguard.console._app import create_app as _create

    return _create(ConsoleConfig(Path(state), analyst, [Path(p) for p in infra or []]))


__all__ = ["create_app"]
