"""Render ``report.html``: one self-contained file, no network, everything escaped.

The page carries its CSS, its small sorting script and its SVG pictures inline, and a
Content-Security-Policy that forbids loading anything from anywhere, so an analyst can
open it offline, mail it, or attach it to a ticket. Jinja's autoescape is on for every
value: account ids, reasons and evidence come from attacker-controlled traffic. Ids and
evidence values also go through the ``shown`` filter (``_display.py``): control and
invisible characters escaped, ids cut at ``DISPLAY_ID_CHARS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distillguard.report._context import ReportConfig, build_context
from distillguard.report._display import DISPLAY_ID_CHARS, display_id
from distillguard.report._scan import load_scan
from distillguard.report._summary import when


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("distillguard.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["when"] = when
    env.filters["shown"] = display_id  # every attacker-chosen id or value a person reads
    return env


def render_report(
    scan_dir: Path | str,
    *,
    events: Path | str | list[Path | str] | None = None,
    config: ReportConfig | None = None,
) -> str:
    """The report of ``scan_dir`` as an HTML string (``events``: event directory, optional)."""
    from distillguard import __version__

    scan = load_scan(Path(scan_dir))
    context = build_context(scan, events, config or ReportConfig())
    template = _environment().get_template("report.html.j2")
    return template.render(version=__version__, display_id_chars=DISPLAY_ID_CHARS, **context)


def write_report(
    scan_dir: Path | str,
    *,
    events: Path | str | list[Path | str] | None = None,
    config: ReportConfig | None = None,
) -> Path:
    """Write ``scan_dir/report.html`` and return its path.

    With ``events`` (an event directory) the campaign timelines show requests per hour
    per member; without, each member's first-to-last activity span.
    """
    html = render_report(scan_dir, events=events, config=config)
    path = Path(scan_dir) / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
