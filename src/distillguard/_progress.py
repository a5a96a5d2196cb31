"""Progress that stays visible when nobody watches a terminal.

On a terminal a long run shows a Rich live bar on stderr. Under cron, CI, ``nohup`` or a pipe a
live bar prints nothing (or control codes into a log), so there the same calls write plain,
timestamped lines on stderr instead: one at each stage change and at most one every
``PROGRESS_LOG_INTERVAL_S`` seconds while counts advance. stdout is never touched, so
``--json`` output stays clean.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

#: Seconds between two plain progress lines while a count advances (stage changes always log).
PROGRESS_LOG_INTERVAL_S = 10.0

_force_log_lines = False


def use_log_lines(on: bool = True) -> None:
    """Write plain lines even on a terminal (``--verbose``: a record that survives scrolling)."""
    global _force_log_lines
    _force_log_lines = on


def wants_log_lines(stream: TextIO | None = None) -> bool:
    """Plain lines unless stderr is an interactive terminal (or ``use_log_lines`` asked for them)."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return _force_log_lines or not (callable(isatty) and isatty())


class NullProgress:
    """Progress turned off (``--quiet``): a context manager that is falsy, so callers skip it."""

    def __enter__(self) -> NullProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __bool__(self) -> bool:
        return False


class _Task:
    def __init__(self, description: str, total: float | None) -> None:
        self.description = description
        self.total = total
        self.completed = 0.0
        self.logged: tuple[str, float] | None = None


class LogProgress:
    """The subset of ``rich.progress.Progress`` the stages use, written as plain stderr lines."""

    def __init__(self, stream: TextIO | None = None, interval_s: float = PROGRESS_LOG_INTERVAL_S) -> None:
        self._stream = stream
        self._interval_s = interval_s
        self._tasks: list[_Task] = []
        self._t0 = time.monotonic()
        self._last_line = self._t0

    def __bool__(self) -> bool:
        return True

    def __enter__(self) -> LogProgress:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        return None

    def stop(self) -> None:
        """Log each task's final count once, when it moved since its last line."""
        for task in self._tasks:
            if task.completed and task.logged != (task.description, task.completed):
                self._log(task)

    def add_task(self, description: str, total: float | None = None, **_fields: Any) -> int:
        self._tasks.append(_Task(description, total))  # first line once it moves: a quick
        return len(self._tasks) - 1  # failure stays a single error line

    def update(
        self,
        task_id: int,
        *,
        advance: float | None = None,
        completed: float | None = None,
        total: float | None = None,
        description: str | None = None,
        **_fields: Any,
    ) -> None:
        task = self._tasks[task_id]
        if total is not None:
            task.total = total
        if completed is not None:
            task.completed = completed
        if advance:
            task.completed += advance
        stage_changed = description is not None and description != task.description
        if description is not None:
            task.description = description
        if stage_changed or time.monotonic() - self._last_line >= self._interval_s:
            self._log(task)

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def _log(self, task: _Task) -> None:
        now = time.monotonic()
        count = f"{task.completed:,.0f}" + (f"/{task.total:,.0f}" if task.total else "")
        stream = self._stream or sys.stderr
        print(f"[{now - self._t0:7.1f}s] {task.description} {count}", file=stream, flush=True)
        task.logged = (task.description, task.completed)
        self._last_line = now


def make_progress(enabled: bool, *, counts: bool = False, transient: bool = True) -> Any:
    """A Rich bar on an interactive stderr, ``LogProgress`` otherwise, ``NullProgress`` if off.

    ``counts`` shows "done/total" on the bar (event and row counts); ``transient`` clears the bar
    when it stops. Both draw on stderr only.
    """
    if not enabled:
        return NullProgress()
    if wants_log_lines():
        return LogProgress()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
    if counts:
        columns.append(MofNCompleteColumn())
    columns.append(TimeElapsedColumn())
    return Progress(*columns, console=Console(stderr=True), transient=transient)
