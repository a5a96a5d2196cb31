"""report.html from a hand-made scan: content, escaping, offline-ness, determinism."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from distillguard.errors import DistillguardError
from distillguard.report import ReportConfig, render_report, write_report

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class _Collector(HTMLParser):
    """Every start tag with its attributes, and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Collector:
    parser = _Collector()
    parser.feed(html)
    return parser


def test_summary_campaigns_and_evidence_present(scan_dir: Path, events_dir: Path) -> None:
    path = write_report(scan_dir, events=events_dir)
    assert path == scan_dir / "report.html"
    html = path.read_text()
    text = " ".join(_parse(html).text)
    assert "374" in text  # events from scan_meta counts
    assert "Metadata-only scan" in text and "expect to miss about 12% of the attack accounts" in text
    assert "Recall warning" in text
    assert "CAMP-1" in text and "CAMP-2" in text
    assert "lockstep requests in 46 of 48 half-hours" in text
    assert "attack_score" in text and "score at or above which an account is an attack" in text
    assert "cot_elicitation_share" in text and "74% of prompts ask for step-by-step reasoning" in text
    # Campaigns ordered by score: CAMP-1 (0.95) before CAMP-2 (0.74).
    assert html.index('id="campaign-1"') < html.index('id="campaign-2"')
    assert html.index(">CAMP-1<") < html.index(">CAMP-2<")


def test_hostile_strings_are_escaped(scan_dir: Path, events_dir: Path) -> None:
    html = render_report(scan_dir, events=events_dir)
    assert EVIL not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "payment fingerprint &lt;b&gt;pf_9&lt;/b&gt;" in html
    parsed = _parse(html)
    # The only script element is ours (inline, no src); no img element made it through.
    scripts = [attrs for tag, attrs in parsed.tags if tag == "script"]
    assert scripts == [{}]
    assert not [t for t, _ in parsed.tags if t == "img"]
    assert not [a for _, a in parsed.tags if any(k.startswith("on") for k in a)]
    # The text a reader sees is the raw id, intact.
    assert EVIL in "".join(parsed.text)


def test_no_external_references(scan_dir: Path, events_dir: Path) -> None:
    html = render_report(scan_dir, events=events_dir)
    for _, attrs in _parse(html).tags:
        for key in ("src", "href", "xlink:href", "action", "data"):
            value = attrs.get(key) or ""
            assert not re.match(r"\s*(https?:)?//", value), (key, value)
            assert not value or value.startswith("#"), (key, value)
    assert not re.search(r"@import|url\(", html)
    assert "default-src 'none'" in html  # CSP: the browser itself refuses any fetch


def test_timelines_from_events_and_fallback(scan_dir: Path, events_dir: Path) -> None:
    with_events = render_report(scan_dir, events=events_dir)
    assert "requests per hour per member" in with_events
    # h1 sends two requests in every hour of the day.
    assert "h1: 2 requests" in with_events
    without = render_report(scan_dir)
    assert "first to last request per member" in without
    assert "h1: 2 requests" not in without


def test_graph_draws_member_edges_only(scan_dir: Path) -> None:
    html = render_report(scan_dir)
    graph_1 = html[html.index('id="campaign-1"') : html.index('id="campaign-2"')]
    # 4 member-to-member edges in CAMP-1 (h1-h2 payment and sync, h1-EVIL, h2-EVIL).
    assert graph_1.count("<line x1=") - graph_1.count('stroke="#9aa3b2"') == 4
    assert "#d1495b" in graph_1 and "#edae49" in graph_1  # payment and sync colours
    graph_2 = html[html.index('id="campaign-2"') : html.index('id="accounts"')]
    assert "unrelated edge leaving the campaign" not in graph_2


def test_report_is_deterministic(scan_dir: Path, events_dir: Path) -> None:
    assert render_report(scan_dir, events=events_dir) == render_report(scan_dir, events=events_dir)


def test_caps_are_applied_and_stated(scan_dir: Path) -> None:
    html = render_report(scan_dir, config=ReportConfig(top_accounts=2, members_listed=1, graph_nodes=2))
    assert "The 2 highest-scoring accounts (of 8)" in html
    assert "and 2 more" in html  # CAMP-1 has 3 members, 1 listed
    assert "1 member(s) not drawn (those tied by the most kinds of link" in html
    # All three are tied by two kinds (payment, sync); h1 and h2 have 3 links, EVIL 2: h1, h2 drawn.
    camp_1 = html[html.index('id="campaign-1"') : html.index('id="campaign-2"')]
    graph = camp_1[camp_1.index('class="graph"') :]
    assert "h1 (attack" in graph and "h2 (attack" in graph and "score 0.91" not in graph
    # Every member id is listed in full, not only the capped badge list.
    ids = camp_1[camp_1.index('class="all-members"') :]
    ids = ids[ids.index("<pre") : ids.index("</pre>")]
    assert ids.count("\n") == 2 and "h1" in ids and "&lt;script&gt;" in ids


def test_minimal_scan_dir_still_reports(tmp_path: Path, scan_dir: Path) -> None:
    for name in (
        "campaigns.json",
        "signals.parquet",
        "edges.parquet",
        "scan_meta.json",
        "quarantine.parquet",
    ):
        (scan_dir / name).unlink()
    html = render_report(scan_dir)
    assert "No campaigns found." in html
    assert "scan_meta.json lists no thresholds." in html
    assert "Not in the scan directory: campaigns.json" in html


def test_prompt_statement_follows_scan_meta(make_scan) -> None:
    present = render_report(make_scan("a", meta={"prompt_text_present": True, "counts": {"events": 5}}))
    assert "Prompt text present: content signals (templates, extraction) ran" in present
    assert "Recall warning" not in present
    absent = render_report(make_scan("b", meta={"prompt_text_present": False}))
    assert (
        "No prompt text in the input" in absent and "no recall-loss figure, so the loss is unknown" in absent
    )
    assert "Recall warning" in absent
    unknown = render_report(make_scan("c", meta={}))
    assert "does not say whether prompt text was present" in unknown
    # Without an event count in scan_meta the summary sums the accounts' exchanges (375).
    assert "sum of account exchanges" in unknown and ">375<" in unknown


def test_event_count_from_events_when_meta_lacks_it(make_scan, events_dir: Path) -> None:
    html = render_report(make_scan("d", meta={}), events=events_dir)
    assert ">375<" in html and "sum of account exchanges" not in html


def test_bad_inputs_are_one_line_errors(tmp_path: Path, scan_dir: Path) -> None:
    with pytest.raises(DistillguardError, match="scan directory not found"):
        write_report(tmp_path / "nope")
    with pytest.raises(DistillguardError, match=r"no accounts\.parquet"):
        write_report(tmp_path)
    (scan_dir / "campaigns.json").write_text(json.dumps({"x": 1}))
    with pytest.raises(DistillguardError, match="expected a list of campaign objects"):
        write_report(scan_dir)
    (scan_dir / "campaigns.json").write_text("[{")
    with pytest.raises(DistillguardError, match="cannot read"):
        write_report(scan_dir)
    (scan_dir / "campaigns.json").write_text("[]")
    with pytest.raises(DistillguardError, match="events directory not found"):
        write_report(scan_dir, events=tmp_path / "missing")
