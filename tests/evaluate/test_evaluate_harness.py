"""evaluate() on the hand-made scan of conftest.py; every expected number worked out by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from distillguard.errors import DistillguardError
from distillguard.evaluate import BaselineConfig, evaluate
from distillguard.schema import ACCOUNTS_SCHEMA


def test_account_level_numbers(sim_dir: Path, scan_dir: Path) -> None:
    report = evaluate(sim_dir / "labels.parquet", scan_dir)
    acc = report["detector"]["accounts"]
    # Flagged (verdict attack): a1 a2 a4 a5 (true) and b2 (false); a3 only suspicious, a6 missing.
    assert (acc["tp"], acc["fp"], acc["fn"], acc["tn"]) == (4, 1, 2, 3)
    assert acc["precision"] == pytest.approx(0.8)
    assert acc["recall"] == pytest.approx(4 / 6, abs=1e-6)
    assert acc["f1"] == pytest.approx(2 * 0.8 * (4 / 6) / (0.8 + 4 / 6), abs=1e-6)
    assert acc["benign_fpr"] == pytest.approx(0.25)
    # AUC: attack scores .9 .8 .5 .7 .95 0 (a6 missing -> 0) vs benign .1 .8 .2 .05:
    # wins 4 + 3.5 (tie at .8) + 3 + 3 + 4 + 0 = 17.5 of 24 pairs.
    assert acc["roc_auc"] == pytest.approx(17.5 / 24, abs=1e-6)
    # AP: steps at .95 .9 (P=1), .8 (P=3/4), .7 (P=4/5), .5 (P=5/6), 0 (P=6/10), each 1/6 recall.
    assert acc["pr_auc"] == pytest.approx((1 + 1 + 0.75 + 0.8 + 5 / 6 + 0.6) / 6, abs=1e-6)
    assert acc["suspicious"]["attack"] == 1 and acc["suspicious"]["benign"] == 0
    assert acc["suspicious"]["recall_with_suspicious"] == pytest.approx(5 / 6, abs=1e-6)
    rates = {(p["persona"], p["metric"]): p["rate"] for p in acc["personas"]}
    assert rates == {
        ("sync_reasoning_harvest", "recall"): 0.75,
        ("hydra_proxy", "recall"): 0.5,
        ("benign_hobbyist", "fpr"): 0.5,
        ("benign_batch_eval", "fpr"): 0.0,
    }
    assert report["coverage"]["missing_from_scan"] == 1
    assert report["coverage"]["unlabeled_in_scan"] == 1


def test_campaign_level_numbers(sim_dir: Path, scan_dir: Path) -> None:
    camp = evaluate(sim_dir / "labels.parquet", scan_dir)["detector"]["campaigns"]
    c1, c2 = camp["true"]
    assert (c1["campaign"], c1["caught_share"], c1["best_match"], c1["in_best_share"]) == (
        "C1",
        0.75,
        "P1",
        0.5,
    )
    assert c1["caught_in_best_share"] == pytest.approx(2 / 3, abs=1e-6)
    assert (c2["campaign"], c2["caught_share"], c2["best_match"], c2["in_best_share"]) == (
        "C2",
        0.5,
        "P2",
        0.5,
    )
    p1, p2 = camp["predicted"]
    assert (p1["campaign_id"], p1["purity"]) == ("P1", 1.0)
    # P2 = {a4 (C1), a5 (C2), b2 (benign)}: majority of one (tie -> smallest id C1), purity 1/3.
    assert (p2["majority_campaign"], p2["benign_members"]) == ("C1", 1)
    assert p2["purity"] == pytest.approx(1 / 3, abs=1e-6)
    assert camp["summary"]["weighted_purity"] == pytest.approx(3 / 5)
    # Contingency over attack accounts: C1 x {P1:2, a3 alone, P2:1}, C2 x {P2:1, a6 alone}:
    # index 1, expected 7*2/15, max 4.5 -> (1 - 14/15) / (4.5 - 14/15).
    assert camp["summary"]["ari"] == pytest.approx((1 - 14 / 15) / (4.5 - 14 / 15), abs=1e-6)


def test_time_to_detection_from_events(sim_dir: Path, scan_dir: Path) -> None:
    ttd = evaluate(sim_dir / "labels.parquet", scan_dir)["detector"]["time_to_detection"]
    assert ttd["available"]
    by = {r["campaign"]: r for r in ttd["campaigns"]}
    # C1 first flagged at hour 3 (a2; a3's hour-1 flag is ignored, it is only suspicious):
    # hours 0-2 of four accounts sending one request an hour = 12 of 40.
    assert (by["C1"]["exchanges_before"], by["C1"]["exchanges"], by["C1"]["hours_before"]) == (12, 40, 3.0)
    # C2 flagged at hour 6 (a5): a5 sent hours 2-5 (4), the missed a6 hours 0-5 (6) = 10 of 30.
    assert (by["C2"]["exchanges_before"], by["C2"]["exchanges"], by["C2"]["hours_before"]) == (10, 30, 6.0)
    assert by["C2"]["first_flagged_at"] == "2024-03-01T06:00:00Z"
    assert ttd["summary"]["flagged_early"] == 0
    # The deadline: C1's 2nd of 40 exchanges (5% of 40 = 2; hour 0 has four), C2's 2nd of 30
    # (1.5 rounds up; a6 at hours 0 and 1): a flag by then would have been early.
    assert (by["C1"]["hours_to_early_share"], by["C2"]["hours_to_early_share"]) == (0.0, 1.0)
    assert by["C2"]["early_share_at"] == "2024-03-01T01:00:00Z"


def test_early_share_deadline_agrees_with_flagged_early(sim_dir: Path) -> None:
    """A flag at the deadline is early, one exchange later is not, for any share."""
    from distillguard.evaluate._timing import _early_rank

    for total in (1, 7, 20, 21, 40, 2000, 2001, 36000):
        for share in (0.01, 0.05, 0.1, 0.3, 0.5, 0.999):
            k = _early_rank(total, share)
            assert (k - 1) / total < share, (total, share)  # k-1 exchanges before: early
            assert k == total or k / total >= share, (total, share)  # k before: late
    # C1 (4 requests an hour, hours 0-9) at half its exchanges: the 20th, hour 4; its flag at
    # hour 3 (12 before) is early at that share, and the deadline says so too.
    import datetime as dt

    from distillguard.evaluate._timing import connect, time_to_detection

    t0_us = int(dt.datetime(2024, 3, 1, tzinfo=dt.UTC).timestamp()) * 1_000_000
    files = [str(p) for p in sorted((sim_dir / "events").rglob("*.parquet"))]
    members = pa.table({"account_id": ["a1", "a2", "a3", "a4"], "campaign": ["C1"] * 4})
    first = pa.table({"campaign": ["C1"], "first_us": pa.array([t0_us + 3 * 3_600_000_000], pa.int64())})
    res = time_to_detection(connect(), files, members, first, early_share=0.5)
    (row,) = res["campaigns"]
    assert row["hours_to_early_share"] == 4.0 and row["exchanges_before"] == 12
    assert res["summary"]["flagged_early"] == 1


def test_baseline_is_computed_from_events(sim_dir: Path, scan_dir: Path) -> None:
    base = evaluate(sim_dir / "labels.parquet", scan_dir, baseline=BaselineConfig(quantile=0.5))["baseline"]
    # Benign volumes 5, 50, 2, 1: the median (higher) is 5; every attack account (10-20) and b2 exceed it.
    assert base["threshold"] == 5.0
    assert (base["accounts"]["tp"], base["accounts"]["fp"]) == (6, 1)
    # Volume as score: each attack account with 10 beats 3 of 4 benign, a6 with 20 too: 18 / 24.
    assert base["accounts"]["roc_auc"] == pytest.approx(0.75)
    by = {r["campaign"]: r for r in base["time_to_detection"]["campaigns"]}
    # The 6th request crosses the cut: hour 5 for C1 members (20 of 40 before), hour 5 for a6.
    assert (by["C1"]["exchanges_before"], by["C1"]["hours_before"]) == (20, 5.0)
    assert by["C2"]["exchanges_before"] == 3 + 5
    default = evaluate(sim_dir / "labels.parquet", scan_dir)["baseline"]
    assert default["threshold"] == 50.0 and default["accounts"]["tp"] == 0
    assert default["time_to_detection"]["summary"]["detected"] == 0


def test_outputs_written_json_and_markdown(sim_dir: Path, scan_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "report.json"
    evaluate(sim_dir / "labels.parquet", scan_dir, out=out)
    data = json.loads(out.read_text())
    assert data["detector"]["accounts"]["tp"] == 4
    md = out.with_suffix(".md").read_text()
    assert "| precision | 0.8000 |" in md and "sync_reasoning_harvest" in md and "## True campaigns" in md
    evaluate(sim_dir / "labels.parquet", scan_dir)
    assert (scan_dir / "evaluation.json").is_file() and (scan_dir / "evaluation.md").is_file()


def test_explicit_events_dir_and_csv_labels(
    case: SimpleNamespace, sim_dir: Path, scan_dir: Path, tmp_path: Path
) -> None:
    labels_csv = tmp_path / "elsewhere" / "labels.csv"
    labels_csv.parent.mkdir()
    pcsv.write_csv(case.labels_table(), labels_csv)
    without = evaluate(labels_csv, scan_dir)
    assert not without["detector"]["time_to_detection"]["available"]
    assert without["baseline"]["volume_source"].startswith("scan exchanges")
    with_events = evaluate(labels_csv, scan_dir, events=sim_dir)
    assert with_events["detector"]["time_to_detection"]["available"]
    assert with_events["inputs"]["events_total"] == 40 + 30 + 5 + 50 + 2 + 1
    # The events/ folder itself is accepted too.
    assert evaluate(labels_csv, scan_dir, events=sim_dir / "events")["inputs"]["events_total"] == 128


def test_without_flagged_at_time_to_detection_says_why(
    case: SimpleNamespace, sim_dir: Path, scan_dir: Path
) -> None:
    pq.write_table(case.accounts_table(with_flagged_at=False), scan_dir / "accounts.parquet")
    ttd = evaluate(sim_dir / "labels.parquet", scan_dir)["detector"]["time_to_detection"]
    assert ttd == {"available": False, "why": "accounts.parquet has no flagged_at column"}


def test_empty_scan_counts_every_account_missing(sim_dir: Path, scan_dir: Path) -> None:
    pq.write_table(ACCOUNTS_SCHEMA.empty_table(), scan_dir / "accounts.parquet")
    report = evaluate(sim_dir / "labels.parquet", scan_dir)
    acc = report["detector"]["accounts"]
    assert report["coverage"]["missing_from_scan"] == 10
    assert (acc["tp"], acc["fp"], acc["precision"], acc["recall"]) == (0, 0, None, 0.0)
    assert acc["roc_auc"] == pytest.approx(0.5)  # every account scored 0: all ties
    assert report["detector"]["campaigns"]["summary"]["predicted_campaigns"] == 0
    assert report["detector"]["time_to_detection"]["summary"]["detected"] == 0


def _write(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.drop_columns(["persona"]), "lack column(s) persona"),
        (lambda t: pa.concat_tables([t, t.slice(0, 1)]), "duplicate account_id in labels"),
    ],
)
def test_malformed_labels(case: SimpleNamespace, sim_dir: Path, scan_dir: Path, mutate, message: str) -> None:
    bad = _write(sim_dir / "bad.parquet", mutate(case.labels_table()))
    with pytest.raises(DistillguardError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(bad, scan_dir)


def test_malformed_scan_and_paths(
    case: SimpleNamespace, sim_dir: Path, scan_dir: Path, tmp_path: Path
) -> None:
    labels = sim_dir / "labels.parquet"
    rows = [("a1", 1.5, "attack", None, None)]
    pq.write_table(case.accounts_table(rows), scan_dir / "accounts.parquet")
    with pytest.raises(DistillguardError, match=r"score must be a number in \[0, 1\]"):
        evaluate(labels, scan_dir)
    pq.write_table(case.accounts_table([("a1", 0.5, "banned", None, None)]), scan_dir / "accounts.parquet")
    with pytest.raises(DistillguardError, match="verdict 'banned' is not one of"):
        evaluate(labels, scan_dir)
    with pytest.raises(DistillguardError, match=r"no accounts\.parquet"):
        evaluate(labels, tmp_path)
    with pytest.raises(DistillguardError, match="labels file not found"):
        evaluate(tmp_path / "nope.parquet", scan_dir)
    (tmp_path / "labels.txt").write_text("account_id\n")
    with pytest.raises(DistillguardError, match=r"must be \.parquet or \.csv"):
        evaluate(tmp_path / "labels.txt", scan_dir)
    with pytest.raises(DistillguardError, match=r"must name a \.json file"):
        evaluate(labels, scan_dir, out=tmp_path / "report.html")
    pq.write_table(case.accounts_table(), scan_dir / "accounts.parquet")
    with pytest.raises(DistillguardError, match="events directory not found"):
        evaluate(labels, scan_dir, events=tmp_path / "missing")
    (scan_dir / "accounts.parquet").write_bytes(b"not parquet")
    with pytest.raises(DistillguardError, match="cannot read"):
        evaluate(labels, scan_dir)


def test_csv_labels_with_bad_is_attack(tmp_path: Path, scan_dir: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("account_id,is_attack,campaign,persona\na1,maybe,C1,p\n")
    with pytest.raises(DistillguardError, match="is_attack must be true/false"):
        evaluate(path, scan_dir)


def test_cli_prints_table_and_fails_in_one_line(sim_dir: Path, scan_dir: Path, tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "distillguard", "evaluate", "--labels", str(sim_dir / "labels.parquet"),
         "--scan", str(scan_dir), "--out", str(tmp_path / "r.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "precision" in ok.stdout and "0.8000" in ok.stdout and (tmp_path / "r.md").is_file()
    bad = subprocess.run(
        [sys.executable, "-m", "distillguard", "evaluate", "--labels", str(tmp_path / "none.parquet"),
         "--scan", str(scan_dir)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "labels file not found" in bad.stderr


def test_events_in_several_partitions_are_all_read(
    case: SimpleNamespace, tmp_path: Path, scan_dir: Path
) -> None:
    root = case.write_events(tmp_path / "ev")
    assert len(list((root / "events").glob("day=*"))) == 2  # b2's requests run into the next day
    pq.write_table(case.labels_table(), tmp_path / "labels.parquet")
    report = evaluate(tmp_path / "labels.parquet", scan_dir, events=root)
    assert report["inputs"]["events_total"] == 128


def test_package_function_runs(sim_dir: Path, scan_dir: Path) -> None:
    from distillguard.evaluate import evaluate

    report = evaluate(sim_dir / "labels.parquet", scan_dir)
    assert report["detector"]["accounts"]["tp"] == 4


def test_cli_module_is_import_light() -> None:
    code = (
        "import sys, distillguard.evaluate._cli, distillguard.report._cli; "
        "print(','.join(m for m in ('duckdb', 'jinja2', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_events_must_be_an_event_directory(tmp_path: Path, sim_dir: Path, scan_dir: Path) -> None:
    """Raw logs are named as such; the events/ folder and the directory read the same events."""
    labels = sim_dir / "labels.parquet"
    raw = tmp_path / "raw.jsonl"
    raw.write_text('{"account_id": "a1"}\n')
    with pytest.raises(DistillguardError, match=r"is not an event directory.*raw logs"):
        evaluate(labels, scan_dir, events=raw)
    by_dir = evaluate(labels, scan_dir, events=sim_dir, out=tmp_path / "a.json")
    by_folder = evaluate(labels, scan_dir, events=sim_dir / "events", out=tmp_path / "b.json")
    assert by_dir["inputs"]["events"] == by_folder["inputs"]["events"] == str(sim_dir)
    assert by_dir["detector"] == by_folder["detector"]
