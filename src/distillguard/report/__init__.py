"""report: the human-readable and the machine-readable outcome of a scan.

``write_report(scan_dir, events=...)`` writes ``report.html``, one self-contained offline
page (summary, thresholds, campaigns with evidence, timelines and account graphs, top
accounts with the values behind their reasons); ``write_enforcement_csv(scan_dir)``
writes ``enforcement.csv``, the accounts to block or review, safe to open in a spreadsheet
(cells that a spreadsheet would run as a formula get a leading ``'``; ``account_id_hex``
carries the exact ids).

From ``scan_meta.json`` the report reads ``thresholds`` ({name: {value, doc}}), the event
count (``events`` at top level or under ``counts``), whether prompt text was present
(``prompt_text_present``, or ``metadata_only``) and, without it, what still ran
(``metadata_only_note``; a ``metadata_only_recall_loss`` figure if an older scan states one);
every other scalar is listed under "Scan details".
"""

from __future__ import annotations

from distillguard.report._context import ReportConfig
from distillguard.report._enforcement import write_enforcement_csv
from distillguard.report._html import render_report, write_report

__all__ = ["ReportConfig", "render_report", "write_enforcement_csv", "write_report"]
