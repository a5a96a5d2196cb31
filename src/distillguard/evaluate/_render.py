"""Render an evaluation report as a Rich table (terminal) and as Markdown (files, PRs).

Both views show the detector and the volume baseline side by side, row for row, so the
reader sees at a glance what the detector adds over a rate limit.
"""

from __future__ import annotations

from typing import Any

_MISSING = "–"


def _fmt(value: Any, kind: str = "rate") -> str:
    if value is None:
        return _MISSING
    if kind == "rate":
        return f"{value:.4f}"
    if kind == "hours":
        return f"{value:.1f} h"
    return str(value)


def _get(section: dict[str, Any] | None, *path: str) -> Any:
    node: Any = section
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


#: (label, path inside a side's dict, format) for the headline comparison.
_ROWS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("precision", ("accounts", "precision"), "rate"),
    ("recall", ("accounts", "recall"), "rate"),
    ("F1", ("accounts", "f1"), "rate"),
    ("ROC-AUC", ("accounts", "roc_auc"), "rate"),
    ("PR-AUC (average precision)", ("accounts", "pr_auc"), "rate"),
    ("benign FPR", ("accounts", "benign_fpr"), "rate"),
    ("flagged attack / benign (TP / FP)", ("accounts",), "tpfp"),
    ("suspicious attack / benign", ("accounts", "suspicious"), "susp"),
    ("campaigns with any account caught", ("campaigns", "summary", "campaigns_with_any_caught"), "int"),
    ("mean share of campaign caught", ("campaigns", "summary", "mean_caught_share"), "rate"),
    ("mean share in best-matching campaign", ("campaigns", "summary", "mean_in_best_share"), "rate"),
    ("weighted purity of predicted campaigns", ("campaigns", "summary", "weighted_purity"), "rate"),
    ("adjusted Rand index (attack accounts)", ("campaigns", "summary", "ari"), "rate"),
    ("campaigns detected", ("time_to_detection", "summary", "detected"), "int"),
    ("campaigns flagged early", ("time_to_detection", "summary", "flagged_early"), "int"),
    (
        "median share of exchanges before flag",
        ("time_to_detection", "summary", "median_share_before"),
        "rate",
    ),
    ("max share of exchanges before flag", ("time_to_detection", "summary", "max_share_before"), "rate"),
    ("median hours before flag", ("time_to_detection", "summary", "median_hours_before"), "hours"),
)


def _cell(side: dict[str, Any] | None, path: tuple[str, ...], kind: str) -> str:
    if not side or side.get("available") is False:
        return _MISSING
    value = _get(side, *path)
    if kind == "tpfp":
        return _MISSING if value is None else f"{value['tp']} / {value['fp']}"
    if kind == "susp":
        return _MISSING if value is None else f"{value['attack']} / {value['benign']}"
    return _fmt(value, kind)


def comparison_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, detector, baseline) rows of the headline table."""
    detector, baseline = report["detector"], report.get("baseline")
    rows = []
    for label, path, kind in _ROWS:
        if path[0] == "time_to_detection" and label == "campaigns flagged early":
            share = _get(detector, "time_to_detection", "summary", "early_share")
            label = f"campaigns flagged before {share:.0%} of exchanges" if share is not None else label
        rows.append((label, _cell(detector, path, kind), _cell(baseline, path, kind)))
    return rows


def persona_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(persona, kind, accounts, detector rate, baseline rate) per persona."""
    base = {
        (r["persona"], r["is_attack"]): r
        for r in (_get(report.get("baseline"), "accounts", "personas") or [])
    }
    rows = []
    for r in report["detector"]["accounts"]["personas"]:
        b = base.get((r["persona"], r["is_attack"]))
        kind = "attack (recall)" if r["is_attack"] else "benign (FPR)"
        rows.append(
            (r["persona"], kind, str(r["accounts"]), _fmt(r["rate"]), _fmt(b["rate"]) if b else _MISSING)
        )
    return rows


def _notes(report: dict[str, Any]) -> list[str]:
    cov = report["coverage"]
    notes = [
        f"{cov['labelled_accounts']} labelled accounts; {cov['missing_from_scan']} missing from the scan "
        f"(counted as {cov['missing_treated_as']}); {cov['unlabeled_in_scan']} scanned accounts not in "
        "the labels (ignored).",
    ]
    base = report.get("baseline") or {}
    notes.append(f"baseline: {base['rule']}" if base.get("available") else f"baseline: {base.get('why')}")
    ttd = report["detector"].get("time_to_detection") or {}
    if not ttd.get("available"):
        notes.append(f"time to detection unavailable: {ttd.get('why')}")
    return notes


def print_report(report: dict[str, Any], console: Any = None) -> None:
    """Print the headline and per-persona tables with Rich."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title="distillguard evaluation", title_justify="left")
    table.add_column("metric")
    table.add_column("detector", justify="right", style="bold")
    table.add_column("volume baseline", justify="right")
    for row in comparison_rows(report):
        table.add_row(*row)
    console.print(table)
    personas = Table(title="per persona", title_justify="left")
    for name, justify in (("persona", "left"), ("kind", "left"), ("accounts", "right")):
        personas.add_column(name, justify=justify)  # type: ignore[arg-type]
    personas.add_column("detector", justify="right", style="bold")
    personas.add_column("baseline", justify="right")
    for row in persona_rows(report):
        personas.add_row(*row)
    console.print(personas)
    for note in _notes(report):
        console.print(f"[dim]{note}[/dim]", highlight=False, markup=True)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[tuple[str, ...]] | list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_md_escape(str(c)) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _campaign_rows(report: dict[str, Any]) -> list[list[str]]:
    detector = report["detector"]
    ttd = {r["campaign"]: r for r in (_get(detector, "time_to_detection", "campaigns") or [])}
    base_ttd = {
        r["campaign"]: r for r in (_get(report.get("baseline"), "time_to_detection", "campaigns") or [])
    }
    rows = []
    for r in detector["campaigns"]["true"]:
        t, b = ttd.get(r["campaign"], {}), base_ttd.get(r["campaign"], {})
        rows.append(
            [
                r["campaign"],
                str(r["accounts"]),
                _fmt(r["caught_share"]),
                str(r.get("best_match") or _MISSING),
                _fmt(r.get("in_best_share")),
                _fmt(t.get("share_before")),
                _fmt(t.get("hours_before"), "hours"),
                _fmt(t.get("hours_to_early_share"), "hours"),
                _fmt(b.get("share_before")),
            ]
        )
    return rows


def to_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: headline, personas, campaigns, predicted campaigns, notes."""
    parts = ["# distillguard evaluation", ""]
    parts += [f"- scan: `{report['inputs']['scan']}`", f"- labels: `{report['inputs']['labels']}`"]
    if report["inputs"]["events"]:
        parts.append(f"- events: `{report['inputs']['events']}` ({report['inputs']['events_total']} events)")
    parts += ["", _md_table(["metric", "detector", "volume baseline"], comparison_rows(report)), ""]
    parts += ["## Per persona", ""]
    parts += [_md_table(["persona", "kind", "accounts", "detector", "baseline"], persona_rows(report)), ""]
    parts += ["## True campaigns", ""]
    header = [
        "campaign",
        "accounts",
        "caught",
        "best match",
        "in best match",
        "share before flag",
        "hours before flag",
        "hours to early share (deadline)",
        "baseline share before",
    ]
    parts += [_md_table(header, _campaign_rows(report)), ""]
    predicted = report["detector"]["campaigns"]["predicted"]
    if predicted:
        parts += ["## Predicted campaigns", ""]
        rows = [
            [
                p["campaign_id"],
                str(p["members"]),
                str(p["benign_members"]),
                str(p["majority_campaign"] or _MISSING),
                _fmt(p["purity"]),
            ]
            for p in predicted
        ]
        parts += [_md_table(["campaign_id", "members", "benign", "majority campaign", "purity"], rows), ""]
    parts += ["## Notes", ""] + [f"- {_md_escape(n)}" for n in _notes(report)] + [""]
    return "\n".join(parts)
