"""Ordinary benign bulk, Private Relay / VPN users, and a legitimate SaaS reseller.

Hobbyists and developers are the paying base; company apps follow real ServeGen per-client
rate curves (the best public record of how legitimate heavy API customers load a service).
"""

from __future__ import annotations

import numpy as np
from _h3_core import (
    COUNTRIES,
    COUNTRY_P,
    DAY_US,
    FLAT_WEEK,
    M_LEGACY,
    M_MAIN,
    M_MINI,
    M_NEW,
    M_REASON,
    RELEASE_US,
    Block,
    accounts,
    counts,
    created_between,
    curve_times,
    expand,
    hexes,
    human_times,
    local_offset_us,
    pick,
)
from _h3_frame import ordinary_sources
from _h3_text import chat, code, conv_ids
from _h3_world import World, sample_ips


def _countries(rng: np.random.Generator, n: int) -> np.ndarray:
    return COUNTRIES[rng.choice(len(COUNTRIES), size=n, p=COUNTRY_P / COUNTRY_P.sum())]


def _models(rng: np.random.Generator, ts: np.ndarray, p: list[float]) -> np.ndarray:
    """Model choice; after the release some users try the new model."""
    m = np.array([M_MAIN, M_MINI, M_REASON, M_LEGACY], dtype=object)[rng.choice(4, size=len(ts), p=p)]
    m[(ts > RELEASE_US) & (rng.random(len(ts)) < 0.25)] = M_NEW
    return m


def _personal_ips(
    rng: np.random.Generator, w: World, acct: np.ndarray, n_acct: int, pool: str, per: int = 3
) -> np.ndarray:
    """Each person uses 1..``per`` addresses of their own (home, phone, office)."""
    own = sample_ips(rng, w.cidrs[pool], n_acct * per, n_prefixes=4000).reshape(n_acct, per)
    k = rng.integers(1, per + 1, size=n_acct)
    return own[acct, (rng.random(len(acct)) * k[acct]).astype(np.int64)]


def hobbyists(rng: np.random.Generator, w: World, n: int) -> Block:
    ac = accounts(
        "benign_hobbyist",
        n,
        attack=False,
        created_us=created_between(rng, n, 1, 1100),
        tier=np.where(rng.random(n) < 0.55, "free", "paid"),
        country=_countries(rng, n),
        payment=None,
        source=ordinary_sources(rng, n),
        client=np.array(["chrome", "safari", "py_openai", "js_openai", "curl"], dtype=object)[
            rng.choice(5, size=n, p=[0.3, 0.2, 0.3, 0.15, 0.05])
        ],
    )
    paid = ac["tier"] == "paid"
    ac["payment"][paid] = hexes(rng, int(paid.sum()), "pm_", 16)
    acct, rank = expand(counts(rng, n, 18, shape=0.6, hi=600))
    ts = human_times(rng, acct, rank, local_offset_us(ac["country"]), week=FLAT_WEEK, session_len=5)
    prompt, tin, tout = chat(rng, w, len(acct))
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "in_tok": tin,
        "out_tok": tout,
        "model": _models(rng, ts, [0.55, 0.3, 0.1, 0.05]),
        "conv": conv_ids(rng, acct, rank, 3),
        "ip": _personal_ips(rng, w, acct, n, "residential"),
    }
    return Block(ac, ev)


def developers(rng: np.random.Generator, w: World, n: int) -> Block:
    ac = accounts(
        "benign_developer",
        n,
        attack=False,
        created_us=created_between(rng, n, 5, 900),
        tier=np.where(rng.random(n) < 0.2, "startup", "paid"),
        country=_countries(rng, n),
        payment=hexes(rng, n, "pm_", 16),
        source=ordinary_sources(rng, n),
        client=np.array(["py_openai", "js_openai", "httpx", "go", "requests"], dtype=object)[
            rng.choice(5, size=n, p=[0.45, 0.25, 0.1, 0.1, 0.1])
        ],
    )
    acct, rank = expand(counts(rng, n, 60, shape=0.5, hi=3000))
    ts = human_times(rng, acct, rank, local_offset_us(ac["country"]), session_len=12, think_median_s=25)
    prompt, tin, tout = code(rng, w, len(acct))
    # Developers test from home and from their own dev box in the cloud.
    ip = _personal_ips(rng, w, acct, n, "residential", per=2)
    cloud = _personal_ips(rng, w, acct, n, "aws_ec2", per=1)
    on_cloud = rng.random(n) < 0.3
    ip = np.where(on_cloud[acct] & (rng.random(len(acct)) < 0.7), cloud, ip)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "in_tok": tin,
        "out_tok": tout,
        "model": _models(rng, ts, [0.5, 0.3, 0.15, 0.05]),
        "conv": conv_ids(rng, acct, rank, 4),
        "ip": ip,
        "temperature": np.where(rng.random(len(acct)) < 0.4, 0.0, np.nan),
    }
    return Block(ac, ev)


def company_apps(rng: np.random.Generator, w: World, n: int) -> Block:
    """Product backends: steady 24/7 load shaped like a real ServeGen client, one system
    prompt per product, the app's own end users passed as ``end_user_id``, cloud egress."""
    ac = accounts(
        "benign_company_app",
        n,
        attack=False,
        created_us=created_between(rng, n, 30, 1000),
        tier=np.where(rng.random(n) < 0.4, "enterprise", "paid"),
        country=_countries(rng, n),
        payment=hexes(rng, n, "pm_", 16),
        source=np.where(rng.random(n) < 0.5, "nocontent", "full"),
        client=np.array(["py_openai", "js_openai", "go"], dtype=object)[rng.integers(0, 3, size=n)],
    )
    acct, rank = expand(counts(rng, n, 900, shape=0.8, lo=150, hi=6000))
    ts = curve_times(
        rng, acct, w.client_curves, rng.integers(0, len(w.client_curves), size=n), rng.integers(0, 3, size=n)
    )
    prompt, tin, tout = chat(rng, w, len(acct))
    system = pick(rng, w.prompts["roles"], n)[acct]
    pools = np.array(["aws_ec2", "gcp", "azure"], dtype=object)[rng.integers(0, 3, size=n)]
    ip = np.empty(len(acct), dtype=object)
    for a in range(n):  # a few NAT-gateway addresses per company
        sel = np.flatnonzero(acct == a)
        ip[sel] = pick(
            rng, sample_ips(rng, w.cidrs[pools[a]], int(rng.integers(2, 8)), n_prefixes=3), len(sel)
        )
    users = rng.integers(50, 3000, size=n)
    eu = (rng.zipf(1.3, size=len(acct)) % users[acct]).astype(np.int64)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": system,
        "in_tok": tin + 120,
        "out_tok": tout,
        "model": _models(rng, ts, [0.45, 0.5, 0.0, 0.05]),
        "ip": ip,
        "end_user": np.char.add(np.char.add("u_", acct.astype(str)), np.char.add("_", eu.astype(str))).astype(
            object
        ),
        "conv": conv_ids(rng, acct, rank, 2),
    }
    return Block(ac, ev)


def relay_vpn_users(rng: np.random.Generator, w: World, n: int) -> Block:
    """iCloud Private Relay and commercial VPN users: unrelated people behind a small set of
    shared egress addresses (Relay egress is Apple/CDN-operated, VPN exits sit in
    datacenters), so one exit IP carries dozens of accounts with nothing else in common."""
    relay = rng.random(n) < 0.55
    ac = accounts(
        "benign_private_relay_vpn",
        n,
        attack=False,
        created_us=created_between(rng, n, 2, 1000),
        tier=np.where(rng.random(n) < 0.5, "free", "paid"),
        country=_countries(rng, n),
        payment=None,
        source=ordinary_sources(rng, n),
        client=np.where(relay, "safari", np.where(rng.random(n) < 0.5, "chrome", "py_openai")),
    )
    paid = ac["tier"] == "paid"
    ac["payment"][paid] = hexes(rng, int(paid.sum()), "pm_", 16)
    acct, rank = expand(counts(rng, n, 30, shape=0.7, hi=500))
    ts = human_times(rng, acct, rank, local_offset_us(ac["country"]), week=FLAT_WEEK, session_len=6)
    exits_relay = np.concatenate(
        [
            sample_ips(rng, w.cidrs["relay_v4"], 30, n_prefixes=30),
            sample_ips(rng, w.cidrs["relay_v6"], 30, n_prefixes=30),
        ]
    )
    exits_vpn = sample_ips(rng, w.cidrs["vpn"], 45, n_prefixes=45)
    # Each user sticks to a handful of exits of their service (the service picks by region).
    home = np.where(relay, rng.integers(0, len(exits_relay), size=n), rng.integers(0, len(exits_vpn), size=n))
    hop = rng.integers(0, 4, size=len(acct))
    ip = np.where(
        relay[acct],
        exits_relay[(home[acct] + hop) % len(exits_relay)],
        exits_vpn[(home[acct] + hop) % len(exits_vpn)],
    )
    prompt, tin, tout = chat(rng, w, len(acct))
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "in_tok": tin,
        "out_tok": tout,
        "ip": ip,
        "model": _models(rng, ts, [0.6, 0.3, 0.07, 0.03]),
        "conv": conv_ids(rng, acct, rank, 3),
    }
    return Block(ac, ev)


def saas_resellers(rng: np.random.Generator, w: World, n_firms: int) -> Block:
    """Legitimate SaaS resellers (writing assistants, support bots, "chat with your PDF"):
    prod / staging / batch accounts per firm on one company card, thousands of end users,
    cloud egress, a product system prompt; load follows a real ServeGen client curve."""
    per = 3
    n = n_firms * per
    firm = np.repeat(np.arange(n_firms), per)
    ac = accounts(
        "benign_saas_reseller",
        n,
        attack=False,
        created_us=created_between(rng, n_firms, 60, 700)[firm] + rng.integers(0, 30 * DAY_US, size=n),
        tier=np.where(rng.random(n_firms) < 0.6, "enterprise", "startup")[firm],
        country=_countries(rng, n_firms)[firm],
        payment=hexes(rng, n_firms, "pm_", 16)[firm],
        source=np.where(rng.random(n_firms) < 0.5, "full", "nocontent")[firm],
        client=np.array(["py_openai", "js_openai", "go"], dtype=object)[rng.integers(0, 3, size=n_firms)][
            firm
        ],
    )
    acct, rank = expand(
        np.where(np.arange(n) % per == 1, rng.integers(60, 200, size=n), rng.integers(1500, 4000, size=n))
    )
    ts = curve_times(
        rng,
        acct,
        w.client_curves,
        rng.integers(0, len(w.client_curves), size=n_firms)[firm],
        rng.integers(0, 3, size=n),
    )
    prompt, tin, tout = chat(
        rng,
        w,
        len(acct),
        mix={"sharegpt": 0.55, "selfinstruct_user": 0.2, "roles": 0.1, "arena": 0.1, "simpleqa": 0.05},
    )
    system = pick(rng, w.prompts["roles"], n_firms)[firm][acct]
    ip = np.empty(len(acct), dtype=object)
    for f in range(n_firms):
        sel = np.flatnonzero(firm[acct] == f)
        ip[sel] = pick(
            rng, sample_ips(rng, w.cidrs["aws_ec2" if f % 2 else "azure"], 6, n_prefixes=2), len(sel)
        )
    users = rng.integers(1500, 6000, size=n_firms)[firm]
    eu = rng.integers(0, users[acct])
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": system,
        "in_tok": tin + 300,
        "out_tok": tout,
        "ip": ip,
        "model": _models(rng, ts, [0.5, 0.45, 0.0, 0.05]),
        "conv": conv_ids(rng, acct, rank, 2),
        "end_user": np.char.add(
            np.char.add("cust_", firm[acct].astype(str)), np.char.add("_", eu.astype(str))
        ).astype(object),
    }
    return Block(ac, ev)
