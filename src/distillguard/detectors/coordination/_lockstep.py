"""Lockstep timelines: accounts whose request timelines are one stream dealt among them.

A fleet behind a usage-balancing router (the public record's "load balancing traffic across
accounts": round-robin key rotation, least-used-key routing) deals one operator's request
stream over its accounts so that each has sent the same share of it at every moment: the
accounts' cumulative request curves coincide far more closely than two independent samples
of any common daily rhythm can. This needs no prompt text and no shared key (SynchroTrap's
co-occurrence cells need a specific key: without prompts the key is the model, whose cells
hold everyone), so it is the synchronized-timing test of ``--metadata-only`` scans too. A
router that picks a key *at random* per request makes the accounts independent thinnings of
the stream, indistinguishable by timing from unrelated customers: not caught here.

The test, for a pair (``s`` the account with fewer requests): the cumulative shares of both
at the buckets where ``s`` reaches 5%, 10%, ..., 95% of its requests; ``x`` = sqrt(n_e) x
their largest difference, n_e = n_s n_b / (n_s + n_b). For independent accounts
sqrt(n_e) (F_s - F_b) is a Brownian bridge, so the chance of ``x`` that small is at most the
product, over the grid's steps, of the chance that the bridge's next value (given the last)
stays within +-x (:func:`chance`: a bound for any grid, so bucketing, which only decides where
the grid points fall, cannot make it optimistic; in the Gaussian limit, which the 100 requests
``lockstep_min_requests`` asks for keep near: 5 per step). A pair counts when that chance is
below ``lockstep_max_p`` (Bonferroni-sized: many pairs are tested).

Strangers on one fixed schedule (an hourly heartbeat of a popular tool) also share a
timeline: the synchronized-pairs rules downstream (NAT sites, signup cohorts) judge these
pairs like SynchroTrap's (:func:`._network.sync`).
"""

from __future__ import annotations

import math
from typing import Any

import ibis
import numpy as np
import pyarrow as pa

from distillguard.detectors.coordination import _partials

#: The grid: the smaller account's cumulative-share levels compared (5%, 10%, ..., 95%).
LEVELS: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(1, 20))
#: The levels whose quantiles pre-select candidate pairs (every other grid level).
PREFILTER: tuple[int, ...] = (1, 3, 5, 7, 9, 11, 13, 15, 17)


def chance(x: float, shares: np.ndarray | tuple[float, ...] = LEVELS) -> float:
    """Upper bound on P(|B(u)| <= x at every u of ``shares``) for a Brownian bridge B.

    Markov chaining: given B at the previous grid point, B at the next is normal with
    variance d (1 - u) / (1 - u_prev) (d the step), and a normal lies within [-x, x] with at
    most the chance a centred one does, erf(x / (sd sqrt 2))."""
    return float(chances(np.asarray([x], dtype=np.float64), [shares])[0])


_ERF = np.frompyfunc(math.erf, 1, 1)


def chances(x: np.ndarray, shares: list[Any]) -> np.ndarray:
    """:func:`chance` of each ``x`` on its own grid ``shares`` (one row per pair)."""
    if not len(x):
        return np.zeros(0)
    width = max(len(s) for s in shares)
    u = np.full((len(x), width), np.nan)
    for i, s in enumerate(shares):
        u[i, : len(s)] = s
    u = np.where((u > 0) & (u < 1), u, np.nan)
    u = np.sort(u, axis=1)  # NaN last
    dup = np.zeros_like(u, dtype=bool)
    dup[:, 1:] = u[:, 1:] == u[:, :-1]
    u[dup] = np.nan  # one grid point per distinct share
    u = np.sort(u, axis=1)
    prev = np.concatenate([np.zeros((len(x), 1)), u[:, :-1]], axis=1)
    prev = np.where(np.isnan(prev), 0.0, prev)
    sd = np.sqrt((u - prev) * (1 - u) / (1 - prev))
    ok = np.isfinite(sd) & (sd > 0)
    z = np.where(
        ok, np.asarray(x, dtype=np.float64)[:, None] / (np.where(ok, sd, 1.0) * math.sqrt(2)), np.inf
    )
    factors = _ERF(z).astype(np.float64)  # erf(inf) = 1: no step, no factor
    return np.prod(factors, axis=1)


def max_scaled_distance(max_p: float) -> float:
    """The largest ``x`` whose :func:`chance` on the nominal grid is at most ``max_p``."""
    lo, hi = 1e-6, 3.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if chance(mid) <= max_p:
            lo = mid
        else:
            hi = mid
    return lo


def _accounts(t: Any, p: Any, x_max: float) -> Any:
    """Per eligible account: requests (``tot``), buckets (``nb``), ``nn`` = min of the two (an
    account counts at most one observation per bucket), and per grid level its quantile bucket
    ``q<k>`` and the buckets where it reaches the level -+ ``x_max`` sqrt(2 / nn) (``lo<k>``,
    ``hi<k>``): the widest gap a passing pair can have at a grid point, with this account the
    smaller (n_e >= nn / 2)."""
    w = ibis.cumulative_window(group_by=t.aid, order_by=t.b)
    c = t.mutate(cum=t.n.sum().over(w), tot=t.n.sum().over(group_by=t.aid), nb=t.count().over(group_by=t.aid))
    c = c.mutate(dl=x_max * (2.0 / ibis.least(c.tot, c.nb)).sqrt())
    cols = {}
    for k in PREFILTER:
        lv = LEVELS[k]
        cols[f"q{k}"] = c.b.min(where=c.cum >= lv * c.tot)
        cols[f"lo{k}"] = c.b.min(where=c.cum >= (lv - c.dl) * c.tot)
        cols[f"hi{k}"] = c.b.min(where=c.cum >= ibis.least(lv + c.dl, 1.0) * c.tot)
    for k, lv in enumerate(LEVELS):
        if k not in PREFILTER:
            cols[f"q{k}"] = c.b.min(where=c.cum >= lv * c.tot)
    acc = c.group_by("aid").aggregate(tot=c.n.sum(), nb=c.count(), **cols)
    acc = acc.filter((acc.tot >= p.lockstep_min_requests) & (acc.nb >= p.lockstep_min_buckets))
    return acc.mutate(nn=ibis.least(acc.tot, acc.nb))


def pairs(ctx: Any, p: Any, max_p: float | None = None) -> pa.Table:
    """Lockstep pairs as of the context's checkpoint: ``src``, ``dst`` (integer ids, src <
    dst), ``x`` and its :func:`chance` ``p`` at most ``max_p`` (default
    ``p.lockstep_max_p``; ``p`` are the coordination parameters).

    Candidates first (testing every pair of busy accounts would be quadratic): at every
    level of :data:`PREFILTER` the larger account's quantile lies between the smaller's at
    the level -+ the widest gap a passing pair can have (an interval join on DuckDB). A pair
    whose shares stay within that gap at *every* bucket meets it; one within it only at the
    grid points may be missed (a heuristic cut, not part of the test). Then
    both accounts' cumulative shares at the smaller's grid buckets: each probe is put into
    its account's timeline after that bucket's requests, so one running sum reads them all.
    """
    max_p = p.lockstep_max_p if max_p is None else max_p
    x_max = max_scaled_distance(max_p)

    def build(kp: Any) -> Any:
        t = _partials.table(ctx, "tlb")
        t = t.filter(t.cp <= kp)
        acc = _accounts(t, p, x_max)
        s, b = acc.view(), acc.view()
        smaller = (s.nn < b.nn) | ((s.nn == b.nn) & (s.aid < b.aid))
        within = [b[f"q{k}"].between(s[f"lo{k}"], s[f"hi{k}"]) for k in PREFILTER]
        j = s.join(b, [smaller, *within])
        cand = j.select(
            s=j.aid,
            big=j.aid_right,
            ne=j.nn * j.nn_right / (j.nn + j.nn_right),
            **{f"g{k}": j[f"q{k}"] for k in range(len(LEVELS))},
        )
        probes = ibis.union(
            *[
                cand.select(
                    aid=who, pair_s=cand.s, pair_b=cand.big, k=ibis.literal(k, "int32"), b=cand[f"g{k}"]
                )
                for k in range(len(LEVELS))
                for who in (cand.s, cand.big)
            ],
            distinct=False,
        )
        tot = acc.select("aid", "tot")
        used = probes.select("aid").distinct()
        none = ibis.null(t.aid.type())
        real = t.semi_join(used, "aid").select(
            "aid", pair_s=none, pair_b=none, k=ibis.null("int32"), b="b", n="n"
        )
        rows = ibis.union(real, probes.mutate(n=ibis.literal(0, "int64")), distinct=False)
        # a probe after its bucket's requests: ties on the bucket put real rows (null k) first
        w = ibis.cumulative_window(group_by=rows.aid, order_by=[rows.b, rows.k.isnull().ifelse(0, 1), rows.k])
        run = rows.mutate(cum=rows.n.sum().over(w))
        at = run.filter(run.k.notnull()).join(tot, "aid")
        at = at.select("pair_s", "pair_b", "k", is_s=at.aid == at.pair_s, f=at.cum / at.tot)
        fs = at.filter(at.is_s).select("pair_s", "pair_b", "k", fs="f")
        fb = at.filter(~at.is_s).select("pair_s", "pair_b", "k", fb="f")
        g = fs.join(fb, ["pair_s", "pair_b", "k"])
        per = g.group_by(["pair_s", "pair_b"]).aggregate(d=(g.fs - g.fb).abs().max(), shares=g.fs.collect())
        out = per.join(cand.select("s", "big", "ne"), [per.pair_s == cand.s, per.pair_b == cand.big])
        out = out.select("pair_s", "pair_b", "shares", x=out.d * out.ne.sqrt())
        return out.filter(out.x <= x_max)

    key = ("lockstep", p.lockstep_min_requests, p.lockstep_min_buckets, x_max)
    t = _partials.collect(ctx, key, build)
    s = t["pair_s"].to_numpy(zero_copy_only=False)
    b = t["pair_b"].to_numpy(zero_copy_only=False)
    x = t["x"].to_numpy(zero_copy_only=False)
    # the grid's own steps (the smaller account's shares at its quantile buckets), not nominal
    ch = chances(x, t["shares"].to_pylist())
    keep = ch <= max_p
    src, dst = np.minimum(s, b)[keep], np.maximum(s, b)[keep]
    order = np.lexsort((dst, src))
    return pa.table({"src": src[order], "dst": dst[order], "x": x[keep][order], "p": ch[keep][order]})
