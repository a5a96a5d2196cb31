"""Account-graph pictures: campaign members as nodes, the links between them as edges.

The layout is a seeded Fruchterman-Reingold force simulation in numpy (a few hundred
nodes at most, so the O(n^2) step is cheap), so the same scan draws the same picture.
Edges are coloured by kind: a reviewer sees at once whether a cluster is held together
by a shared card, shared infrastructure, shared templates or lockstep timing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.report._display import display_id

#: Colour per edge kind (EDGES_SCHEMA ``kind``); other kinds use ``OTHER_COLOR``.
EDGE_COLORS: dict[str, str] = {
    "payment": "#d1495b",
    "infra": "#2e86ab",
    "template": "#7b4fa0",
    "system_prompt": "#14a39a",
    "sync": "#edae49",
    "created_together": "#3b8b5a",
    "profile": "#a0522d",
}
OTHER_COLOR = "#8a8f98"
VERDICT_COLORS: dict[str, str] = {"attack": "#c0392b", "suspicious": "#e67e22", "clear": "#7f8c8d"}

_SIZE = 380  # square drawing area in pixels
_MARGIN = 18


@dataclass
class GraphPicture:
    """Positions and colours for one campaign's account graph."""

    size: int = _SIZE
    nodes: list[dict[str, Any]] = field(default_factory=list)  # {x, y, r, color, title}
    edges: list[dict[str, Any]] = field(default_factory=list)  # {x1, y1, x2, y2, color, title, width}
    legend: list[dict[str, str]] = field(default_factory=list)  # {kind, color}
    hidden_nodes: int = 0
    edge_count: int = 0


def force_layout(
    n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, *, seed: int, iterations: int
) -> np.ndarray:
    """Fruchterman-Reingold positions in [0, 1]^2 for ``n`` nodes (seeded, deterministic)."""
    if n == 0:
        return np.zeros((0, 2))
    if n == 1:
        return np.full((1, 2), 0.5)
    rng = np.random.default_rng(seed)
    # Gravity toward the centre: without it, members with no drawn link are pushed to
    # the corners and the normalisation squeezes the linked cluster into a dot.
    gravity = 0.35
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pos = np.c_[np.cos(angle), np.sin(angle)] * 0.5 + rng.normal(0, 0.02, (n, 2))
    k = 1.0 / np.sqrt(n)  # ideal edge length for a unit area
    temperature = 0.1
    w = weight / weight.max() if weight.size and weight.max() > 0 else weight
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=2), 1e-6)
        # Repulsion between every pair, attraction along edges (stronger for heavier edges).
        disp = np.einsum("ijk,ij->ik", delta, k * k / dist**2)
        if src.size:
            d = pos[src] - pos[dst]
            length = np.maximum(np.linalg.norm(d, axis=1), 1e-6)
            pull = d * (length * (0.5 + w) / k)[:, None]
            np.add.at(disp, src, -pull)
            np.add.at(disp, dst, pull)
        disp -= gravity * pos * (k * n) ** 0.5
        norm = np.maximum(np.linalg.norm(disp, axis=1), 1e-9)
        pos += disp / norm[:, None] * np.minimum(norm, temperature)[:, None]
        pos -= pos.mean(axis=0)  # keep disconnected parts from drifting apart
        temperature *= 0.97
    # One scale for both axes, centred: stretching each axis on its own would flatten a
    # small graph onto a line along the box's edge.
    low, high = pos.min(axis=0), pos.max(axis=0)
    span = float((high - low).max())
    return (pos - (low + high) / 2) / (span if span > 0 else 1.0) + 0.5


def _pick_nodes(
    members: list[str], scores: dict[str, float], edges: pa.Table | None, limit: int
) -> list[str]:
    """The ``limit`` members to draw: those tied by the most kinds of link, then the most links.

    Drawing the top scores alone shows, in a large campaign, scattered accounts whose
    links run to members left out; members that several kinds of evidence tie together
    (card and template and burst) are the ones that show how the fleet is held together.
    """
    import pyarrow.compute as pc

    if len(members) <= limit or edges is None or edges.num_rows == 0:
        return sorted(members, key=lambda a: (-scores.get(a, 0.0), a))[:limit]
    ids = pa.array(members, pa.string())
    inside = edges.filter(pc.and_(pc.is_in(edges["src"], ids), pc.is_in(edges["dst"], ids)))
    ends = pa.concat_tables(
        [
            inside.select(["src", "kind"]).rename_columns(["account", "kind"]),
            inside.select(["dst", "kind"]).rename_columns(["account", "kind"]),
        ]
    )
    stats = ends.group_by("account").aggregate([("kind", "count_distinct"), ("kind", "count")])
    kinds = dict(zip(stats["account"].to_pylist(), stats["kind_count_distinct"].to_pylist(), strict=True))
    links = dict(zip(stats["account"].to_pylist(), stats["kind_count"].to_pylist(), strict=True))
    return sorted(members, key=lambda a: (-kinds.get(a, 0), -links.get(a, 0), -scores.get(a, 0.0), a))[:limit]


def campaign_graph(
    members: list[str],
    verdicts: dict[str, str],
    scores: dict[str, float],
    edges: pa.Table | None,
    *,
    max_nodes: int,
    seed: int,
    iterations: int,
) -> GraphPicture:
    """The picture of one campaign: ``max_nodes`` of its members (see ``_pick_nodes``) and their edges."""
    import pyarrow.compute as pc

    shown = _pick_nodes(members, scores, edges, max_nodes)
    index = {a: i for i, a in enumerate(shown)}
    src = dst = weight = np.zeros(0)
    kinds: list[str] = []
    evidence: list[str | None] = []
    if edges is not None and edges.num_rows and shown:
        ids = pa.array(shown, pa.string())
        inside = edges.filter(pc.and_(pc.is_in(edges["src"], ids), pc.is_in(edges["dst"], ids)))
        # One line per pair and kind: the strongest edge of that kind.
        inside = inside.sort_by([("weight", "descending")])
        seen: set[tuple[str, str, str]] = set()
        rows_s, rows_d, rows_w = [], [], []
        for s, d, kind, wgt, ev in zip(
            *(inside[c].to_pylist() for c in ("src", "dst", "kind", "weight", "evidence")), strict=True
        ):
            key = (min(s, d), max(s, d), kind)
            if s == d or key in seen:
                continue
            seen.add(key)
            rows_s.append(index[s])
            rows_d.append(index[d])
            rows_w.append(wgt)
            kinds.append(kind)
            evidence.append(ev)
        src, dst, weight = (np.asarray(x) for x in (rows_s, rows_d, rows_w))
    pos = force_layout(
        len(shown),
        src.astype(np.int64),
        dst.astype(np.int64),
        weight.astype(np.float64),
        seed=seed,
        iterations=iterations,
    )
    xy = _MARGIN + pos * (_SIZE - 2 * _MARGIN)
    picture = GraphPicture(hidden_nodes=len(members) - len(shown), edge_count=len(kinds))
    for i, (s, d) in enumerate(zip(src.astype(int).tolist(), dst.astype(int).tolist(), strict=True)):
        kind = kinds[i]
        detail = f"{kind}: {display_id(shown[s])} – {display_id(shown[d])}" + (
            f" ({display_id(evidence[i], None)})" if evidence[i] else ""
        )
        picture.edges.append(
            {
                "x1": round(float(xy[s, 0]), 1),
                "y1": round(float(xy[s, 1]), 1),
                "x2": round(float(xy[d, 0]), 1),
                "y2": round(float(xy[d, 1]), 1),
                "color": EDGE_COLORS.get(kind, OTHER_COLOR),
                "width": round(0.8 + 1.6 * float(weight[i] / max(weight.max(), 1e-9)), 2),
                "title": detail,
            }
        )
    radius = 4.5 if len(shown) <= 40 else 3.2
    for i, acc in enumerate(shown):
        verdict = verdicts.get(acc, "clear")
        picture.nodes.append(
            {
                "x": round(float(xy[i, 0]), 1),
                "y": round(float(xy[i, 1]), 1),
                "r": radius,
                "color": VERDICT_COLORS.get(verdict, OTHER_COLOR),
                "title": f"{display_id(acc)} ({verdict}, score {scores.get(acc, 0.0):.2f})",
            }
        )
    present = sorted(set(kinds))
    picture.legend = [{"kind": k, "color": EDGE_COLORS.get(k, OTHER_COLOR)} for k in present]
    return picture
