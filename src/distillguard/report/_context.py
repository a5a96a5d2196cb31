"""Turn a scan directory into the plain data the HTML template renders.

All strings stay raw here; escaping happens once, in the Jinja environment (autoescape
on), because account ids, evidence and reasons are attacker-controlled text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from distillguard.report._events import event_files
from distillguard.report._evidence import event_values, evidence_values
from distillguard.report._graph import campaign_graph
from distillguard.report._scan import ScanOutput
from distillguard.report._summary import details, headline, meta_value, prompt_statement, thresholds, when
from distillguard.report._timeline import (
    Timeline,
    count_events,
    hourly_counts,
    hourly_timeline,
    span_timeline,
)


@dataclass(frozen=True)
class ReportConfig:
    """How much the report shows; every cap is stated in the report where it applies."""

    #: Accounts listed in "Top accounts", highest score first.
    top_accounts: int = 50
    #: Members listed with their verdict per campaign, highest score first.
    members_listed: int = 200
    #: Member ids listed in full (a plain, copyable list) per campaign; a larger campaign's
    #: ids beyond this are only in accounts.parquet (campaign_id), which the report says.
    members_all: int = 20_000
    #: Distinct evidence values shown per campaign and evidence kind (most members first).
    evidence_values: int = 6
    #: Members drawn as rows in a campaign timeline (highest volume first).
    timeline_members: int = 16
    #: Most columns in a timeline; longer campaigns use buckets of several hours.
    timeline_buckets: int = 168
    #: Flagged (attack and suspicious) accounts listed in the compact table with the rule
    #: behind each verdict, highest score first; accounts.parquet has every one.
    flagged_listed: int = 5_000
    #: Nodes drawn in a campaign's account graph (highest score first).
    graph_nodes: int = 80
    #: Seed and iterations of the force layout (same seed, same picture).
    graph_seed: int = 0
    graph_iterations: int = 150


def _membership(scan: ScanOutput) -> dict[str, list[str]]:
    """campaign_id -> members (campaigns.json lists, else accounts.parquet campaign_id)."""
    import pyarrow.compute as pc

    grouped = scan.accounts.filter(pc.is_valid(scan.accounts["campaign_id"]))
    by_column: dict[str, list[str]] = {}
    for acc, cid in zip(grouped["account_id"].to_pylist(), grouped["campaign_id"].to_pylist(), strict=True):
        by_column.setdefault(cid, []).append(acc)
    out = {}
    for c in scan.campaigns:
        cid = str(c["campaign_id"])
        listed = [str(a) for a in c.get("accounts") or []]
        out[cid] = listed or sorted(by_column.get(cid, []))
    return out


def _signals_by_account(signals: pa.Table | None, accounts: list[str]) -> dict[str, list[dict[str, Any]]]:
    import pyarrow.compute as pc

    if signals is None or not accounts:
        return {}
    rows = signals.filter(pc.is_in(signals["account_id"], pa.array(accounts, pa.string())))
    rows = rows.sort_by([("account_id", "ascending"), ("strength", "descending"), ("signal", "ascending")])
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows.to_pylist():
        out.setdefault(r["account_id"], []).append(r)
    return out


def build_context(scan: ScanOutput, events: Any, config: ReportConfig) -> dict[str, Any]:
    """Everything ``report.html.j2`` renders, computed from the scan (and the events if given)."""
    import pyarrow.compute as pc

    acc = scan.accounts
    ids = acc["account_id"].to_pylist()
    verdicts = dict(zip(ids, acc["verdict"].to_pylist(), strict=True))
    scores = dict(zip(ids, acc["score"].to_pylist(), strict=True))
    exchanges = dict(zip(ids, pc.fill_null(acc["exchanges"], 0).to_pylist(), strict=True))
    counts = {v: 0 for v in ("attack", "suspicious", "clear")}
    for v in verdicts.values():
        counts[v] = counts.get(v, 0) + 1
    membership = _membership(scan)
    campaigns = sorted(scan.campaigns, key=lambda c: (-float(c.get("score") or 0.0), str(c["campaign_id"])))
    drawn = {
        str(c["campaign_id"]): sorted(
            membership[str(c["campaign_id"])], key=lambda a: (-exchanges.get(a, 0), -scores.get(a, 0.0), a)
        )[: config.timeline_members]
        for c in campaigns
    }
    timelines = _timelines(scan, events, campaigns, membership, drawn, config)
    values = evidence_values(scan.edges, membership, per_kind=config.evidence_values)
    from_events = (
        event_values(event_files(events), membership, per_kind=config.evidence_values)
        if events is not None
        else {}
    )
    campaign_rows = []
    for i, c in enumerate(campaigns):
        cid = str(c["campaign_id"])
        members = membership[cid]
        ranked = sorted(members, key=lambda a: (-scores.get(a, 0.0), a))
        campaign_rows.append(
            {
                "id": cid,
                "anchor": f"campaign-{i + 1}",
                "size": len(members),
                "exchanges": c.get("exchanges"),
                "score": c.get("score"),
                "first_seen": c.get("first_seen"),
                "last_seen": c.get("last_seen"),
                "capabilities": [str(x) for x in c.get("capabilities") or []],
                "top_reasons": [str(x) for x in c.get("top_reasons") or []],
                "first_seen_text": when(c.get("first_seen")),
                "last_seen_text": when(c.get("last_seen")),
                "evidence": _evidence(c.get("evidence"), cid, values, from_events),
                "members": [
                    {"id": a, "verdict": verdicts.get(a, "clear"), "score": scores.get(a)}
                    for a in ranked[: config.members_listed]
                ],
                "members_hidden": max(0, len(members) - config.members_listed),
                "member_verdicts": _verdict_counts(members, verdicts),
                "all_members": ranked[: config.members_all],
                "all_members_hidden": max(0, len(members) - config.members_all),
                "timeline": timelines[cid],
                "graph": campaign_graph(
                    members,
                    verdicts,
                    scores,
                    scan.edges,
                    max_nodes=config.graph_nodes,
                    seed=config.graph_seed,
                    iterations=config.graph_iterations,
                ),
            }
        )
    top = acc.sort_by([("score", "descending"), ("account_id", "ascending")]).slice(0, config.top_accounts)
    top_rows = top.to_pylist()
    signals = _signals_by_account(scan.signals, [r["account_id"] for r in top_rows])
    anchors = {r["id"]: r["anchor"] for r in campaign_rows}
    for r in top_rows:
        r["signals"] = signals.get(r["account_id"], [])
        r["reasons"] = r.get("reasons") or []
        r["campaign_anchor"] = anchors.get(r.get("campaign_id"))
    flagged_rows = _flagged_rows(scan, anchors, config.flagged_listed)
    events_total = meta_value(scan.meta, "events")
    if events_total is None and events is not None:
        events_total = count_events(event_files(events))
    exchanges_known = scan.accounts["exchanges"].null_count < scan.accounts.num_rows
    return {
        "scan_name": _scan_name(scan),
        "generated": when(meta_value(scan.meta, "generated")),
        "events_total": events_total,
        "events_from_accounts": sum(exchanges.values()) if events_total is None and exchanges_known else None,
        "accounts_total": acc.num_rows,
        "verdicts": counts,
        "campaign_count": len(campaigns),
        "quarantined": scan.quarantined,
        "headline": headline(counts, acc.num_rows, campaign_rows, events_total),
        "prompt": prompt_statement(scan.meta),
        "threshold_groups": thresholds(scan.meta),
        "details": details(scan.meta),
        "campaigns": campaign_rows,
        "top_accounts": top_rows,
        "flagged_rows": flagged_rows,
        "flagged_total": counts.get("attack", 0) + counts.get("suspicious", 0),
        "config": config,
        "missing_files": scan.missing,
        "has_signals": scan.signals is not None,
    }


def _flagged_rows(scan: ScanOutput, anchors: dict[Any, str], limit: int) -> list[dict[str, Any]]:
    """Every attack and suspicious account (up to ``limit``) with the rule behind its verdict."""
    import pyarrow.compute as pc

    from distillguard.report._why import explain_all

    acc = scan.accounts
    flagged = acc.filter(pc.is_in(acc["verdict"], pa.array(["attack", "suspicious"])))
    flagged = flagged.sort_by([("score", "descending"), ("account_id", "ascending")]).slice(0, limit)
    why = explain_all(flagged, scan.signals, scan.meta)
    rows = flagged.select(["account_id", "verdict", "score", "campaign_id", "reasons"]).to_pylist()
    for r in rows:
        r["why"] = why.get(r["account_id"], "")
        r["reasons"] = r.get("reasons") or []
        r["campaign_anchor"] = anchors.get(r.get("campaign_id"))
    return rows


def _verdict_counts(members: list[str], verdicts: dict[str, str]) -> list[dict[str, Any]]:
    """How many members got each verdict (a campaign can hold accounts only reviewed)."""
    counts: dict[str, int] = {}
    for a in members:
        v = verdicts.get(a, "clear")
        counts[v] = counts.get(v, 0) + 1
    return [{"verdict": v, "n": counts[v]} for v in ("attack", "suspicious", "clear") if counts.get(v)]


def _evidence(
    raw: Any,
    cid: str,
    values: dict[tuple[str, str], dict[str, Any]],
    from_events: dict[tuple[str, str], list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """campaigns.json evidence rows, each with the edge values behind its kind.

    A kind that has edges but no row in campaigns.json still gets a row, so no link
    drawn in the graph goes unexplained.
    """
    rows = []
    for e in raw if isinstance(raw, list) else []:
        if not isinstance(e, dict):
            rows.append({"kind": "", "detail": str(e), "accounts": [], "weight": None})
            continue
        accounts = e.get("accounts") if isinstance(e.get("accounts"), list) else []
        rows.append(
            {
                "kind": str(e.get("kind", "")),
                "detail": str(e.get("detail", "")),
                "accounts": [str(a) for a in accounts],
                "weight": e.get("weight"),
            }
        )
    listed = {r["kind"] for r in rows}
    for c, kind in sorted(values):
        if c == cid and kind not in listed:
            rows.append({"kind": kind, "detail": "(links in edges.parquet)", "accounts": [], "weight": None})
    for r in rows:
        r["linked"] = values.get((cid, r["kind"]))
        r["from_events"] = (from_events or {}).get((cid, r["kind"]), [])
    return sorted(rows, key=lambda r: -(r["weight"] if isinstance(r["weight"], int | float) else 0))


def _timelines(
    scan: ScanOutput,
    events: Any,
    campaigns: list[dict[str, Any]],
    membership: dict[str, list[str]],
    drawn: dict[str, list[str]],
    config: ReportConfig,
) -> dict[str, Timeline]:
    ids = [str(c["campaign_id"]) for c in campaigns]
    if events is None:
        return {
            cid: span_timeline(scan.accounts, drawn[cid], len(membership[cid]) - len(drawn[cid]))
            for cid in ids
        }
    drawn_sets = {cid: set(drawn[cid]) for cid in ids}
    rows = [(str(k), a, a in drawn_sets[cid]) for k, cid in enumerate(ids) for a in membership[cid]]
    members = pa.table(
        {
            "ckey": pa.array([r[0] for r in rows], pa.string()),
            "account_id": pa.array([r[1] for r in rows], pa.string()),
            "drawn": pa.array([r[2] for r in rows], pa.bool_()),
        }
    )
    counts, params = hourly_counts(event_files(events), members, config.timeline_buckets)
    import pyarrow.compute as pc

    out = {}
    for k, cid in enumerate(ids):
        part = counts.filter(pc.equal(counts["ckey"], str(k)))
        out[cid] = hourly_timeline(
            drawn[cid], len(membership[cid]) - len(drawn[cid]), part, params.get(str(k))
        )
    return out


def _scan_name(scan: Any) -> str:
    """The scan folder's name; for a ``scan --state`` scan, the state's and its increment."""
    state = scan.meta.get("state") if isinstance(scan.meta, dict) else None
    if isinstance(state, dict) and state.get("dir"):
        return f"{Path(str(state['dir'])).name}, increment {state.get('scored_increment')}"
    return scan.path.name
