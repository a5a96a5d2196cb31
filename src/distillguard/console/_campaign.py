"""A campaign as an analyst reads it: link groups, a readable graph, values to act on.

Why groups instead of accounts: a campaign of 40 accounts has hundreds of links (every
pair on one card, every pair in one template family), so an account graph is a hairball.
What holds a fleet together is a handful of *things* it shares: this card, that template
family, this signup burst, that datacenter IP. Each such thing is one node here (a group:
the accounts joined by links of one kind naming the same value, split into connected
parts when the link text names no value, as for a card), sized by its members; two groups
are joined when they share members. Clicking a group expands it into its accounts.
Layout: igraph's Fruchterman-Reingold from seeded start positions, so the same scan draws
the same picture.

The values come from the event store, because ``edges.parquet`` keeps only a sentence:
the card fingerprints members share, the shared IPs with their ASN and kind, the harvest
system prompt's first words and a sample of the group's prompts (redacted until an
analyst reveals them; each reveal is audit-logged by the app).
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.report._display import display_id
from distillguard.report._graph import EDGE_COLORS, OTHER_COLOR, VERDICT_COLORS
from distillguard.state._decisions import normalize_evidence

#: Words of a harvest system prompt shown without a reveal (enough to recognise it).
SYSTEM_PROMPT_WORDS = 8
#: Sample prompts shown per group (redacted until revealed).
SAMPLE_PROMPTS = 5
#: Characters of a revealed prompt shown (the rest is cut with an ellipsis).
PROMPT_CHARS = 400
#: Shared IPs listed per campaign (most members first).
TOP_IPS = 10
#: Members drawn around an expanded group (most linked first); the rest are counted.
EXPANDED_MEMBERS = 40
#: Members with a timeline row (highest score first).
TIMELINE_MEMBERS = 40
#: Most hour buckets of a timeline (wider spans use several hours per bucket).
TIMELINE_BUCKETS = 240
#: Drawing area of the graph (pixels): layout, not a threshold.
GRAPH_W, GRAPH_H = 760, 520
#: Most groups drawn in a campaign graph (the largest); the tables list every group.
GRAPH_GROUPS = 40
#: Radius (pixels) of the smallest and the largest group drawn (area grows with members).
NODE_R_MIN, NODE_R_MAX = 7.0, 30.0
#: Seed of the layout's start positions.
GRAPH_SEED = 7
_LAYOUT_LOCK = threading.Lock()


@dataclass
class Group:
    gid: str
    kind: str
    label: str
    members: list[str]
    links: int
    values: list[dict[str, Any]] = field(default_factory=list)  # {name, value, redacted?}
    prompts: list[dict[str, Any]] = field(default_factory=list)  # {text, accounts}


def _components(n: int, pairs: list[tuple[int, int]]) -> list[list[int]]:
    import igraph as ig

    g = ig.Graph(n=n, edges=pairs)
    return [sorted(c) for c in g.connected_components() if len(c) >= 2]


def link_groups(members: list[str], edges: pa.Table) -> list[Group]:
    """The campaign's groups: per (kind, value named by the link), its connected parts."""
    ids = pa.array(members, pa.string())
    inside = edges.filter(pc.and_(pc.is_in(edges["src"], ids), pc.is_in(edges["dst"], ids)))
    by_key: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for s, d, kind, text in zip(
        *(inside[c].to_pylist() for c in ("src", "dst", "kind", "evidence")), strict=True
    ):
        label = normalize_evidence(kind, text).split(":", 2)[2]
        by_key.setdefault((kind, label), []).append((s, d))
    groups: list[Group] = []
    for (kind, label), pairs in sorted(by_key.items()):
        accs = sorted({a for p in pairs for a in p})
        index = {a: i for i, a in enumerate(accs)}
        for part in _components(len(accs), [(index[s], index[d]) for s, d in pairs]):
            names = [accs[i] for i in part]
            inset = set(names)
            links = sum(1 for s, _ in pairs if s in inset)
            groups.append(Group("", kind, label, names, links))
    groups.sort(key=lambda g: (g.kind, -len(g.members), g.label, g.members[0]))
    counters: dict[str, int] = {}
    for g in groups:
        counters[g.kind] = counters.get(g.kind, 0) + 1
        g.gid = f"{g.kind}-{counters[g.kind]}"
    return groups


def redact(text: str | None) -> str:
    """A prompt as shown before a reveal: its length only."""
    words = len((text or "").split())
    return f"[redacted: {words} words]"


def _cut(text: str, chars: int = PROMPT_CHARS) -> str:
    text = display_id(text, None)
    return text if len(text) <= chars else text[: chars - 1] + "…"


def attach_values(data: Any, groups: list[Group]) -> None:
    """The actionable value behind each group, read from the event store."""
    every = sorted({a for g in groups for a in g.members})
    if not every:
        return
    with data.events_of(every) as local:
        _attach(local, data, groups, every)


def _attach(local: Any, data: Any, groups: list[Group], every: list[str]) -> None:
    cards: dict[str, set[str]] = {}
    import ibis

    def members(ev: Any, accounts: list[str]) -> Any:
        return ev.join(data.accounts_table(ev, accounts), "account_id")

    def top(ev: Any, column: str, limit: int) -> Any:
        """Values of ``column`` by distinct accounts using them, most first."""
        known = ev.filter(ev[column].notnull())
        counts = known.group_by(column).aggregate(n=known.account_id.nunique())
        return counts.order_by([ibis.desc("n"), column]).limit(limit)

    cards_of = local.query(
        lambda ev: (
            ev.filter(ev.payment_fingerprint.notnull()).select("account_id", "payment_fingerprint").distinct()
        )
    )
    for acc, card in cards_of:
        cards.setdefault(acc, set()).add(card)
    for g in groups:
        if g.kind == "payment":
            counts: dict[str, int] = {}
            for a in g.members:
                for c in cards.get(a, ()):
                    counts[c] = counts.get(c, 0) + 1
            for c, n in sorted(counts.items(), key=lambda x: (-x[1], x[0])):
                if n >= 2:
                    g.values.append(
                        {"name": "card fingerprint", "value": display_id(c), "detail": f"{n} members"}
                    )
        elif g.kind == "infra":
            ip = g.label.split()[-1] if g.label else ""
            info = data.describe_ips([ip]).get(ip, {}) if ip else {}
            g.values.append({"name": "IP", "value": display_id(ip), "detail": _ip_detail(info)})
        elif g.kind == "system_prompt":
            rows = local.query(lambda ev, g=g: top(members(ev, g.members), "system_prompt", 1))
            if rows:
                words = (rows[0][0] or "").split()
                head = " ".join(words[:SYSTEM_PROMPT_WORDS])
                g.values.append(
                    {
                        "name": "system prompt starts",
                        "value": display_id(head, None) + (" …" if len(words) > SYSTEM_PROMPT_WORDS else ""),
                        "detail": f"sent by {rows[0][1]} members",
                        "full": _cut(rows[0][0] or ""),
                        "redacted": redact(rows[0][0]),
                    }
                )
        elif g.kind == "created_together":

            def created(ev: Any, g: Group = g) -> Any:
                mine = members(ev, g.members)
                return mine.aggregate(lo=mine.account_created_at.min(), hi=mine.account_created_at.max())

            rows = local.query(created)
            if rows and rows[0][0] is not None:
                lo, hi = rows[0]
                g.values.append(
                    {
                        "name": "accounts created",
                        "value": f"{lo:%Y-%m-%d %H:%M} – {hi:%H:%M} UTC",
                        "detail": f"{len(g.members)} accounts",
                    }
                )
        else:
            g.values.append(
                {"name": g.kind, "value": display_id(g.label) or "(no detail recorded)", "detail": ""}
            )
        if g.kind in ("template", "system_prompt", "sync", "profile"):
            rows = local.query(lambda ev, g=g: top(members(ev, g.members), "prompt", SAMPLE_PROMPTS))
            g.prompts = [{"text": _cut(p), "redacted": redact(p), "accounts": n} for p, n in rows]


def _ip_detail(info: dict[str, Any]) -> str:
    parts = []
    if info.get("asn") is not None:
        parts.append(f"AS{info['asn']}" + (f" {info['as_org']}" if info.get("as_org") else ""))
    if info.get("ip_kind") and info["ip_kind"] != "unknown":
        parts.append(str(info["ip_kind"]))
    if info.get("ip_country"):
        parts.append(str(info["ip_country"]))
    if info.get("ip_prefix24"):
        parts.append(str(info["ip_prefix24"]))
    return ", ".join(parts) or "no ASN in the IP feeds (pass --infra)"


def shared_ips(data: Any, members: list[str]) -> list[dict[str, Any]]:
    """Client IPs used by two or more members (most members first), with ASN and kind."""
    import ibis

    def shared(ev: Any) -> Any:
        mine = ev.join(data.accounts_table(ev, members), "account_id")
        mine = mine.filter(mine.client_ip.notnull())
        ips = mine.group_by("client_ip").aggregate(n=mine.account_id.nunique(), requests=mine.count())
        ips = ips.filter(ips.n >= 2)
        return ips.order_by([ibis.desc("n"), ibis.desc("requests"), "client_ip"]).limit(TOP_IPS)

    rows = data.query(shared)
    info = data.describe_ips([r[0] for r in rows])
    return [
        {"ip": display_id(ip), "accounts": n, "requests": req, "detail": _ip_detail(info.get(ip, {}))}
        for ip, n, req in rows
    ]


def group_graph(
    groups: list[Group], verdicts: dict[str, str], expand: str | None, href: Any
) -> dict[str, Any]:
    """SVG geometry: group nodes (and an expanded group's accounts), igraph layout.

    At most :data:`GRAPH_GROUPS` groups are drawn (the largest of each kind in turn; an
    expanded one always);
    the evidence tables list every group.
    """
    import igraph as ig

    all_groups = groups
    # the largest groups of every kind in turn, so one prolific kind (a hydra's hundreds of
    # template families) does not crowd the cards and signup bursts out of the picture
    by_kind: dict[str, list[Group]] = {}
    for g in sorted(groups, key=lambda g: (-len(g.members), g.gid)):
        by_kind.setdefault(g.kind, []).append(g)
    turns = [
        g
        for rank in range(max((len(v) for v in by_kind.values()), default=0))
        for v in by_kind.values()
        if rank < len(v)
        for g in [v[rank]]
    ]
    groups = turns[:GRAPH_GROUPS]
    chosen_group = next((g for g in all_groups if g.gid == expand), None)
    if chosen_group is not None and chosen_group not in groups:
        groups = [*groups[:-1], chosen_group] if len(groups) == GRAPH_GROUPS else [*groups, chosen_group]
    hidden_groups = len(all_groups) - len(groups)
    biggest = max((len(g.members) for g in groups), default=1)

    nodes: list[dict[str, Any]] = []
    for g in groups:
        nodes.append(
            {
                "id": g.gid,
                "kind": "group",
                "r": round(NODE_R_MIN + (NODE_R_MAX - NODE_R_MIN) * math.sqrt(len(g.members) / biggest), 1),
                "color": EDGE_COLORS.get(g.kind, OTHER_COLOR),
                "label": f"{g.kind} · {len(g.members)}",
                "title": f"{g.kind}: {g.label} ({len(g.members)} accounts, {g.links} links)",
                "href": href(expand=None if expand == g.gid else g.gid) + "#graph",
                "expanded": g.gid == expand,
            }
        )
    pairs: list[tuple[int, int]] = []
    weights: list[float] = []
    edge_info: list[dict[str, Any]] = []
    sets = [set(g.members) for g in groups]
    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            shared = len(sets[i] & sets[j])
            if shared:
                pairs.append((i, j))
                weights.append(float(shared))
                edge_info.append(
                    {"title": f"{groups[i].gid} and {groups[j].gid} share {shared} accounts", "n": shared}
                )
    hidden = 0
    chosen = next((g for g in groups if g.gid == expand), None)
    if chosen is not None:
        gi = groups.index(chosen)
        shown = chosen.members[:EXPANDED_MEMBERS]
        hidden = len(chosen.members) - len(shown)
        for acc in shown:
            k = len(nodes)
            verdict = verdicts.get(acc, "clear")
            nodes.append(
                {
                    "id": acc,
                    "kind": "account",
                    "r": 4.5,
                    "color": VERDICT_COLORS.get(verdict, OTHER_COLOR),
                    "label": "",
                    "title": f"{display_id(acc)} ({verdict})",
                    "href": f"/account/{quote(acc, safe='')}",
                    "expanded": False,
                }
            )
            for j, s in enumerate(sets):
                if acc in s:
                    pairs.append((j, k))
                    weights.append(1.0 if j == gi else 0.3)
                    edge_info.append({"title": f"{display_id(acc)} in {groups[j].gid}", "n": 0})
    n = len(nodes)
    if n == 0:
        return {"nodes": [], "edges": [], "w": GRAPH_W, "h": GRAPH_H, "hidden": 0, "hidden_groups": 0}
    rng = np.random.default_rng(GRAPH_SEED)
    start = rng.uniform(-1, 1, (n, 2)).tolist()
    graph = ig.Graph(n=n, edges=pairs)
    if n > 1:
        # igraph draws from a module-wide generator even from given start positions:
        # a private seeded one (under a lock: pages render on several threads) keeps the
        # picture the same on every load.
        with _LAYOUT_LOCK:
            ig.set_random_number_generator(random.Random(GRAPH_SEED))
            try:
                # Kamada-Kawai spreads a small dense graph more evenly than a force layout
                # (groups of one campaign share members, so most pairs are linked)
                layout = graph.layout_kamada_kawai(seed=start, maxiter=100 * n)
            finally:
                ig.set_random_number_generator(random)
        xy = np.asarray(layout.coords, dtype=float)
    else:
        xy = np.zeros((1, 2))
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    margin = 48
    xy = margin + (xy - lo) / span * (np.array([GRAPH_W, GRAPH_H]) - 2 * margin)
    if n == 1:
        xy[:] = [GRAPH_W / 2, GRAPH_H / 2]
    xy = _separate(xy, np.asarray([node["r"] for node in nodes], dtype=float))
    for k, node in enumerate(nodes):
        node["x"], node["y"] = round(float(xy[k, 0]), 1), round(float(xy[k, 1]), 1)
        # labels near an edge are anchored inside the drawing so they are not cut off
        node["anchor"] = "end" if node["x"] > GRAPH_W - 80 else "start" if node["x"] < 80 else "middle"
    edges = []
    top = max((e["n"] for e in edge_info), default=1) or 1
    for (i, j), info in zip(pairs, edge_info, strict=True):
        edges.append(
            {
                "x1": nodes[i]["x"],
                "y1": nodes[i]["y"],
                "x2": nodes[j]["x"],
                "y2": nodes[j]["y"],
                "width": round(1 + 5 * info["n"] / top, 1) if info["n"] else 0.8,
                "title": info["title"],
            }
        )
    return {
        "nodes": nodes,
        "edges": edges,
        "w": GRAPH_W,
        "h": GRAPH_H,
        "hidden": hidden,
        "hidden_groups": hidden_groups,
    }


#: Pixels kept free between two circles (room for a group's label below it).
NODE_GAP = 14
#: Passes of the overlap removal after the layout.
SEPARATE_ROUNDS = 60


def _separate(xy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Push overlapping circles apart (a few passes), keeping them inside the drawing.

    The layout places centres, not discs: big groups drawn at their size would cover their
    neighbours and their labels. Each pass moves every overlapping pair apart along the
    line between them by half the overlap each.
    """
    xy = xy.copy()
    lo = r[:, None] + 4
    hi = np.array([GRAPH_W, GRAPH_H])[None, :] - r[:, None] - 16
    for _ in range(SEPARATE_ROUNDS):
        delta = xy[:, None, :] - xy[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=2), 1e-6)
        need = r[:, None] + r[None, :] + NODE_GAP
        overlap = np.triu(np.clip(need - dist, 0, None), 1)
        if not overlap.any():
            break
        push = (delta / dist[:, :, None]) * (overlap / 2)[:, :, None]
        xy += push.sum(axis=1) - push.sum(axis=0)
        xy = np.clip(xy, lo, hi)
    return xy


def timelines(data: Any, members: list[str], scores: dict[str, float]) -> Any:
    """Requests per hour per member (the report's timeline, for the top members by score)."""
    from distillguard.report._timeline import Timeline, hourly_counts, hourly_timeline

    files = data.event_files()
    if not files or not members:
        return Timeline(kind="none", note="no events in the state's store")
    drawn = sorted(members, key=lambda a: (-scores.get(a, 0.0), a))[:TIMELINE_MEMBERS]
    drawn_set = set(drawn)
    table = pa.table(
        {
            "ckey": pa.array(["0"] * len(members), pa.string()),
            "account_id": pa.array(members, pa.string()),
            "drawn": pa.array([a in drawn_set for a in members], pa.bool_()),
        }
    )
    counts, params = hourly_counts(files, table, TIMELINE_BUCKETS)
    return hourly_timeline(drawn, len(members) - len(drawn), counts, params.get("0"))
