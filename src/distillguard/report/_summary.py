"""What the top of the report says: the headline, the prompt-text caveat, thresholds, scan facts.

An analyst opening the page should read in two sentences what was found and what to do
with it before any table; and when the scan ran without prompt text they must see, at
the same place, how much recall that costs, because a metadata-only scan that finds
little has not shown that there is little to find.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

# scan_meta.json keys read for the summary, first match wins (top level, then "counts").
_META_KEYS: dict[str, tuple[str, ...]] = {
    "events": ("events", "events_scanned", "events_accepted", "rows_accepted", "events_total"),
    "prompt_present": ("prompt_text_present", "prompts_present", "has_prompt_text", "prompt_text"),
    "recall_loss": (
        "metadata_only_recall_loss",
        "recall_loss_without_prompts",
        "prompt_recall_loss",
        "recall_loss",
    ),
    "metadata_only": ("metadata_only",),
    "generated": ("finished_at", "created_at", "generated_at", "as_of"),
}


def meta_value(meta: dict[str, Any], what: str) -> Any:
    """The first of ``_META_KEYS[what]`` present in ``meta`` or ``meta['counts']``."""
    for scope in (meta, meta.get("counts") if isinstance(meta.get("counts"), dict) else {}):
        for key in _META_KEYS[what]:
            if key in scope and scope[key] is not None:
                return scope[key]
    return None


def when(value: Any) -> str:
    """A timestamp (ISO text or datetime) as ``YYYY-MM-DD HH:MM UTC``; other text unchanged."""
    if value is None or value == "":
        return "–"
    moment = value
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if not isinstance(moment, dt.datetime):
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def thresholds(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Thresholds grouped by stage (the part of the name before the first dot)."""
    raw = meta.get("thresholds")
    if not isinstance(raw, dict):
        return []
    groups: dict[str, list[dict[str, Any]]] = {}
    for name, spec in sorted(raw.items()):
        value, doc = (spec.get("value"), spec.get("doc") or "") if isinstance(spec, dict) else (spec, "")
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        stage = name.split(".", 1)[0] if "." in name else "general"
        short = name.split(".", 1)[1] if "." in name else name
        groups.setdefault(stage, []).append({"name": name, "short": short, "value": value, "doc": doc})
    return [{"stage": stage, "rows": rows, "count": len(rows)} for stage, rows in groups.items()]


def details(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Scalar facts from scan_meta (top level and one level down), for the "scan details" table."""
    rows = []
    for key, value in meta.items():
        if key == "thresholds":
            continue
        if isinstance(value, dict):
            rows += [
                {"name": f"{key}.{k}", "value": v}
                for k, v in value.items()
                if isinstance(v, str | int | float | bool) or v is None
            ]
        elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            rows.append({"name": key, "value": ", ".join(str(v) for v in value)})
        elif isinstance(value, str | int | float | bool):
            rows.append({"name": key, "value": value})
    return rows


def prompt_statement(meta: dict[str, Any]) -> dict[str, Any]:
    """Whether content signals ran, and the recall a scan without prompt text gives up."""
    present = meta_value(meta, "prompt_present")
    metadata_only = meta_value(meta, "metadata_only")
    loss = meta_value(meta, "recall_loss")
    if present is None and metadata_only is None:
        return {"state": "unknown", "text": "scan_meta.json does not say whether prompt text was present"}
    if present and not metadata_only:
        return {"state": "yes", "text": "Prompt text present: content signals (templates, extraction) ran"}
    if isinstance(loss, int | float):
        share = f"{loss:.0%}" if loss <= 1 else str(loss)
        loss_text = (
            f"expect to miss about {share} of the attack accounts a scan with prompt text finds "
            "(measured recall loss); few findings here do not mean few attackers"
        )
    elif loss:
        loss_text = f"expected recall loss: {loss}"
    elif isinstance(meta.get("metadata_only_note"), dict):
        note = meta["metadata_only_note"]
        running = ", ".join(note.get("families_running") or []) or "none"
        off = "; ".join(note.get("links_off") or [])
        loss_text = (
            f"still running: {running}{f' (without {off})' if off else ''}; how much recall that costs "
            "on these logs is unknown, so few findings here do not mean few attackers"
        )
    else:
        loss_text = "scan_meta.json states no recall-loss figure, so the loss is unknown"
    why = "No prompt text in the input" if present is False and not metadata_only else "Metadata-only scan"
    return {
        "state": "no",
        "text": f"{why}: content signals (templates, extraction) were off; {loss_text}",
    }


def headline(
    counts: dict[str, int],
    accounts_total: int,
    campaigns: list[dict[str, Any]],
    events_total: int | None,
) -> list[str]:
    """Two or three plain sentences: what was found, what to do, where the volume went."""

    def n(x: int) -> str:
        return f"{x:,}"

    attack, suspicious = counts.get("attack", 0), counts.get("suspicious", 0)
    lines = []
    if not campaigns and not attack and not suspicious:
        return [f"Nothing to act on: all {n(accounts_total)} accounts were scored clear."]
    share = (attack + suspicious) / accounts_total if accounts_total else 0.0
    lines.append(
        f"{n(len(campaigns))} campaign(s) found. Block {n(attack)} account(s) and review {n(suspicious)} "
        f"({share:.1%} of {n(accounts_total)} accounts); the list is in enforcement.csv."
    )
    if campaigns:
        members = sum(c["size"] for c in campaigns)
        exchanged = sum(int(c["exchanges"] or 0) for c in campaigns)
        volume = f"{n(exchanged)} exchanges"
        if events_total:
            volume += f" ({exchanged / events_total:.1%} of all {n(int(events_total))} events)"
        top = max(campaigns, key=lambda c: (c["size"], c["id"]))
        lines.append(
            f"Campaign members: {n(members)} account(s) that sent {volume}. Largest: "
            f"{top['id']} with {n(top['size'])} accounts; highest score: {campaigns[0]['id']} "
            f"({float(campaigns[0]['score'] or 0):.2f})."
        )
    return lines
