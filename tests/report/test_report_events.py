"""Which event directories the report reads: ingest's layout, asked of ingest."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillguard.errors import DistillguardError
from distillguard.ingest import open_events
from distillguard.report import render_report
from distillguard.report._events import event_files, resolve_event_dir


def test_event_dir_and_its_events_folder_give_the_same_files(events_dir: Path) -> None:
    expected = sorted(open_events(events_dir).files)
    assert sorted(event_files(events_dir)) == expected
    assert sorted(event_files(events_dir / "events")) == expected
    assert resolve_event_dir(events_dir / "events") == events_dir
    assert sorted(event_files([events_dir, events_dir])) == sorted(expected * 2)


def test_events_folder_renders_like_the_event_dir(scan_dir: Path, events_dir: Path) -> None:
    assert render_report(scan_dir, events=events_dir / "events") == render_report(scan_dir, events=events_dir)


def test_raw_logs_and_missing_paths_are_user_errors(scan_dir: Path, tmp_path: Path) -> None:
    raw = tmp_path / "raw.jsonl"
    raw.write_text('{"account_id": "a"}\n')
    with pytest.raises(DistillguardError, match=r"is not an event directory.*raw logs"):
        render_report(scan_dir, events=raw)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "x.parquet").write_bytes(b"")
    with pytest.raises(DistillguardError, match="is not an event directory"):
        render_report(scan_dir, events=plain)
    with pytest.raises(DistillguardError, match="events directory not found"):
        render_report(scan_dir, events=tmp_path / "missing")


def test_without_events_the_report_draws_spans(scan_dir: Path) -> None:
    """A scan of raw logs has no event directory: activity spans, no error."""
    assert "first to last request per member" in render_report(scan_dir)
