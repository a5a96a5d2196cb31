"""The top of the report and the evidence values: what an analyst reads first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from distillguard.report import render_report
from distillguard.report._evidence import NO_VALUE, evidence_values
from distillguard.report._summary import headline, prompt_statement, thresholds, when
from distillguard.schema import EDGES_SCHEMA

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _edges(rows: list[tuple]) -> pa.Table:
    cols = list(zip(*rows, strict=True))
    return pa.table([pa.array(c) for c in cols], schema=EDGES_SCHEMA)


def test_evidence_values_count_members_and_links_inside_each_campaign() -> None:
    edges = _edges(
        [
            ("a", "b", "infra", 0.6, "ip 1.2.3.4"),
            ("b", "c", "infra", 0.6, "ip 1.2.3.4"),
            ("a", "c", "infra", 0.6, "ip 5.6.7.8"),
            ("a", "b", "payment", 1.0, None),
            ("a", "x", "infra", 0.6, "ip 1.2.3.4"),  # x is in another campaign: not counted
            ("x", "y", "infra", 0.6, "ip 9.9.9.9"),
        ]
    )
    out = evidence_values(edges, {"C1": ["a", "b", "c"], "C2": ["x", "y"]}, per_kind=1)
    infra = out[("C1", "infra")]
    assert infra["top"] == [{"value": "ip 1.2.3.4", "links": 2, "accounts": 3}]
    assert infra["distinct"] == 2 and infra["links"] == 3 and infra["accounts"] == 3
    assert out[("C1", "payment")]["top"] == [{"value": NO_VALUE, "links": 1, "accounts": 2}]
    assert out[("C2", "infra")]["top"] == [{"value": "ip 9.9.9.9", "links": 1, "accounts": 2}]
    assert evidence_values(None, {"C1": ["a"]}, per_kind=3) == {}


def test_report_shows_evidence_values_and_escapes_them(scan_dir: Path) -> None:
    import pyarrow.parquet as pq

    edges = pq.read_table(scan_dir / "edges.parquet")
    hostile = _edges([("h1", "h2", "payment", 1.0, f"card {EVIL}")])
    pq.write_table(pa.concat_tables([edges, hostile]), scan_dir / "edges.parquet")
    html = render_report(scan_dir)
    assert "card &lt;script&gt;" in html
    camp_1 = html[html.index('id="campaign-1"') : html.index('id="campaign-2"')]
    assert "pf_9" in camp_1 and "47/48 buckets" in camp_1 and "46/48 buckets" in camp_1
    camp_2 = html[html.index('id="campaign-2"') :]
    assert "203.0.113.0/24" in camp_2
    assert "unrelated edge leaving the campaign" not in html
    assert EVIL not in html


def test_headline_says_what_to_do() -> None:
    campaigns = [
        {"id": "C2", "size": 3, "exchanges": 30, "score": 0.9},
        {"id": "C1", "size": 10, "exchanges": 70, "score": 0.8},
    ]
    lines = headline({"attack": 12, "suspicious": 4, "clear": 84}, 100, campaigns, 1000)
    assert lines[0] == (
        "2 campaign(s) found. Block 12 account(s) and review 4 (16.0% of 100 accounts); "
        "the list is in enforcement.csv."
    )
    assert "13 account(s) that sent 100 exchanges (10.0% of all 1,000 events)" in lines[1]
    assert "Largest: C1 with 10 accounts; highest score: C2 (0.90)" in lines[1]
    assert headline({"attack": 0, "suspicious": 0, "clear": 5}, 5, [], None) == [
        "Nothing to act on: all 5 accounts were scored clear."
    ]


def test_metadata_only_states_the_recall_loss() -> None:
    meta = {"prompt_text_present": False, "metadata_only": True, "metadata_only_recall_loss": 0.98}
    said = prompt_statement(meta)
    assert said["state"] == "no"
    assert said["text"].startswith("Metadata-only scan")
    assert "about 98% of the attack accounts" in said["text"]
    no_prompts = prompt_statement({"prompt_text_present": False, "metadata_only_recall_loss": 0.5})
    assert no_prompts["text"].startswith("No prompt text in the input") and "50%" in no_prompts["text"]


def test_metadata_only_note_names_what_still_runs_without_a_figure() -> None:
    note = {
        "content_signals": "off",
        "families_off": ["extraction"],
        "families_running": ["automation", "coordination", "traffic"],
        "links_off": ["harvest system prompts"],
    }
    said = prompt_statement({"prompt_text_present": False, "metadata_only": True, "metadata_only_note": note})
    assert said["state"] == "no"
    assert "still running: automation, coordination, traffic (without harvest system prompts)" in said["text"]
    assert "unknown" in said["text"] and "%" not in said["text"]


def test_thresholds_grouped_by_stage_and_times_readable() -> None:
    groups = thresholds(
        {
            "thresholds": {
                "scoring.attack": {"value": 0.8, "doc": "d"},
                "campaigns.kinds": {"value": ["payment", "sync"], "doc": ""},
                "solo": 3,
            }
        }
    )
    assert [g["stage"] for g in groups] == ["campaigns", "scoring", "general"]
    assert groups[0]["rows"][0] == {
        "name": "campaigns.kinds",
        "short": "kinds",
        "value": "payment, sync",
        "doc": "",
    }
    assert when("2026-03-02T00:08:03.738915Z") == "2026-03-02 00:08 UTC"
    assert (
        when(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))))
        == "2026-03-02 00:00 UTC"
    )
    assert when(None) == "–" and when("not a time") == "not a time"


def test_timeline_ticks_sit_on_midnights_and_round_hours() -> None:
    from distillguard.report._timeline import _ticks

    start = int(dt.datetime(2026, 3, 9, 1, tzinfo=dt.UTC).timestamp() * 1_000_000)
    days = _ticks(start, 1, 5 * 24, 100.0, 2.0)  # five days from 01:00: a tick a day, at midnight
    assert [t["text"] for t in days] == [f"2026-03-{d}" for d in (10, 11, 12, 13, 14)]
    assert days[0]["x"] == 100.0 + 23 * 2.0
    hours = _ticks(start, 1, 10, 0.0, 10.0)  # ten hours from 01:00: every 3 h, on 03:00, 06:00, 09:00
    assert [t["text"] for t in hours] == ["03-09 03:00", "03-09 06:00", "03-09 09:00"]
    assert hours[0]["anchor"] == "start" and days[1]["anchor"] == "middle" and days[-1]["anchor"] == "end"


def test_campaign_header_counts_member_verdicts(scan_dir: Path) -> None:
    html = render_report(scan_dir)
    camp_2 = html[html.index('id="campaign-2"') :]
    assert "2 accounts (1 attack, 1 suspicious)" in camp_2
    camp_1 = html[html.index('id="campaign-1"') : html.index('id="campaign-2"')]
    assert "3 accounts (3 attack)" in camp_1 and "harvests:" in camp_1
