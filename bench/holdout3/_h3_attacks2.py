"""Attack campaigns, part 2: the organised ones (hydra chain, relay reseller, synchronized
fleet on shared cards, metadata-light fleet)."""

from __future__ import annotations

import numpy as np
from _h3_core import (
    DAY_US,
    END_US,
    HOUR_US,
    M_MAIN,
    M_NEW,
    M_REASON,
    MIN_US,
    RELEASE_US,
    START_US,
    US,
    Block,
    accounts,
    created_between,
    expand,
    hexes,
    human_times,
    join,
    pick,
    tokens_of,
)
from _h3_text import COT_SUFFIXES, chat, conv_ids, cot_output
from _h3_world import World, sample_ips

#: Hydra requests/minute per live account, and its lifetime before a ban (hours).
HYDRA_RATE_PER_MIN = 0.22
HYDRA_LIFE_H = (10.0, 30.0)
HYDRA_SYSTEM = (
    "You are a meticulous teacher. Always show your complete step-by-step reasoning before the final answer."
)


def hydra(rng: np.random.Generator, w: World, slots: int) -> Block:
    """A hydra cluster: ``slots`` concurrent accounts; each is banned after 10-30 h and
    replaced at once by a fresh free-tier account created minutes before its first request.
    All slots share one proxy pool and a small pool of cards; traffic pivots to the new
    model within hours of its release."""
    starts, ends, created = [], [], []
    for _ in range(slots):
        t = START_US + DAY_US + int(rng.integers(0, 6 * HOUR_US))
        while t < END_US:
            life = int(rng.uniform(*HYDRA_LIFE_H) * HOUR_US)
            starts.append(t)
            ends.append(min(t + life, END_US - 1))
            created.append(t - int(rng.integers(2, 15) * MIN_US))
            t = t + life + int(rng.integers(1, 10) * MIN_US)
    n = len(starts)
    s, e = np.array(starts), np.array(ends)
    cards = hexes(rng, max(3, slots // 2), "pm_", 16)
    ac = accounts(
        "atk_hydra_chain",
        n,
        attack=True,
        campaign="h3-hydra",
        created_us=np.array(created),
        tier="free",
        country=pick(rng, np.array(["US", "SG", "HK", "GB"], dtype=object), n),
        payment=pick(rng, cards, n),
        source=np.where(rng.random(n) < 0.8, "full", "legacy"),
        client="py_openai_old",
    )
    n_per = rng.poisson((e - s) / MIN_US * HYDRA_RATE_PER_MIN).astype(np.int64) + 1
    acct, _rank = expand(n_per)
    m = len(acct)
    ts = s[acct] + (rng.random(m) * (e - s)[acct]).astype(np.int64)
    tasks = np.concatenate([w.prompts["gsm8k_train"], w.prompts["comp_math"], w.prompts["bbh"][:2000]])
    prompt = pick(rng, tasks, m)
    proxies = sample_ips(rng, w.cidrs["hosting"], 60, n_prefixes=25)
    model = np.where(ts > RELEASE_US + 3 * HOUR_US, M_NEW, M_REASON)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": np.full(m, HYDRA_SYSTEM, dtype=object),
        "in_tok": tokens_of(prompt) + 25,
        "out_tok": cot_output(rng, m, 1200),
        "ip": pick(rng, proxies, m),
        "model": model,
        "stream": np.zeros(m, bool),
    }
    return Block(ac, ev)


def relay_reseller(rng: np.random.Generator, w: World, n: int) -> Block:
    """A relay reseller (one-api / new-api style Go gateway on rented cloud servers): its
    paying customers' real chat traffic (UTC+8 day curve) is forwarded through a pool of
    accounts, and a steady 24/7 harvest job is mixed into the same accounts."""
    ac = accounts(
        "atk_relay_reseller",
        n,
        attack=True,
        campaign="h3-relay",
        created_us=created_between(rng, n, 30, 220),
        tier="paid",
        country=pick(rng, np.array(["US", "SG", "HK"], dtype=object), n),
        payment=pick(rng, hexes(rng, 3, "pm_", 16), n),
        source="full",
        client="go",
    )
    cust_per = rng.integers(700, 1400, size=n)
    harv_per = (cust_per * rng.uniform(0.3, 0.6, size=n)).astype(np.int64)
    acct_c, rank_c = expand(cust_per)
    ts_c = human_times(rng, acct_c, rank_c, np.full(n, 8 * HOUR_US), session_len=1)
    p_c, in_c, out_c = chat(rng, w, len(acct_c))
    acct_h, _rank_h = expand(harv_per)
    mh = len(acct_h)
    ts_h = START_US + DAY_US + (rng.random(mh) * (END_US - START_US - DAY_US)).astype(np.int64)
    p_h = pick(
        rng, np.concatenate([w.prompts["comp_math"], join(w.prompts["gsm8k_train"], COT_SUFFIXES[0])]), mh
    )
    servers = sample_ips(rng, w.cidrs["hosting"] + w.cidrs["aws_ec2"], 5, n_prefixes=5)
    acct = np.concatenate([acct_c, acct_h])
    m = len(acct)
    ev = {
        "acct": acct,
        "ts": np.concatenate([ts_c, ts_h]),
        "prompt": np.concatenate([p_c, p_h]),
        "system": np.concatenate(
            [
                np.full(len(acct_c), None, dtype=object),
                np.full(mh, "Show all reasoning steps in full detail.", dtype=object),
            ]
        ),
        "in_tok": np.concatenate([in_c, tokens_of(p_h) + 10]),
        "out_tok": np.concatenate([out_c, cot_output(rng, mh, 1000)]),
        "ip": pick(rng, servers, m),
        "model": np.where(rng.random(m) < 0.5, M_REASON, M_MAIN),
    }
    return Block(ac, ev)


SYNC_SYSTEM = (
    "You are an autonomous agent. Think through each step, explain why you choose each tool and what you "
    "expect "
    "it to return, then call it."
)


def sync_fleet(rng: np.random.Generator, w: World, n: int, per_account: int = 320) -> Block:
    """A fleet on a handful of shared cards behind one dispatcher: every few minutes a batch
    of agentic tool-use tasks fans out round-robin across the accounts within seconds (the
    "coordinated timing that looks like load balancing"). Accounts opened in three bursts."""
    burst = rng.integers(0, 3, size=n)
    ac = accounts(
        "atk_sync_fleet",
        n,
        attack=True,
        campaign="h3-sync",
        created_us=START_US - (10 + burst) * DAY_US + rng.integers(0, 2 * HOUR_US, size=n),
        tier="startup",
        country="US",
        payment=pick(rng, hexes(rng, 6, "pm_", 16), n),
        source="full",
        client="httpx",
    )
    total = n * per_account
    k = rng.integers(10, 30, size=total // 10)
    k = k[: np.searchsorted(np.cumsum(k), total) + 1]
    b_ts = np.sort(START_US + DAY_US + (rng.random(len(k)) * (END_US - START_US - DAY_US)).astype(np.int64))
    batch = np.repeat(np.arange(len(k)), k)
    m = len(batch)
    acct = (np.arange(m) + rng.integers(0, n)) % n
    ts = b_ts[batch] + rng.integers(0, 3 * US, size=m)
    prompt = pick(rng, w.prompts["bfcl"], m)
    tools = rng.integers(4, 11, size=m)
    ips = sample_ips(rng, w.cidrs["gcp"], 12, n_prefixes=4)
    rank = np.zeros(m, dtype=np.int64)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": np.full(m, SYNC_SYSTEM, dtype=object),
        "in_tok": tokens_of(prompt) + 300 + tools * 110,
        "out_tok": cot_output(rng, m, 500),
        "tool_count": tools,
        "ip": pick(rng, ips, m),
        "model": np.full(m, M_MAIN, dtype=object),
        "conv": conv_ids(rng, acct, rank + np.arange(m) // 3, 1),
    }
    return Block(ac, ev)


def metadata_light(rng: np.random.Generator, w: World, n: int) -> Block:
    """A fleet seen only through a billing-grade log export (no text, no UA, no TLS, IP on
    under half the rows): reasoning-model harvest around the clock, templated inputs of
    narrow size, long reasoning outputs, a pivot to the new model within hours of release.
    Accounts opened over five days three weeks earlier, each with its own card or none."""
    ac = accounts(
        "atk_metadata_light",
        n,
        attack=True,
        campaign="h3-meta",
        created_us=created_between(rng, n, 19, 24),
        tier=np.where(rng.random(n) < 0.5, "free", "paid"),
        country=pick(rng, np.array(["US", "SG", "GB", "DE"], dtype=object), n),
        payment=np.where(rng.random(n) < 0.5, hexes(rng, n, "pm_", 16), None),
        source="minimal",
        client="httpx",
    )
    n_per = rng.integers(80, 220, size=n)
    acct, _rank = expand(n_per)
    m = len(acct)
    ts = START_US + DAY_US + (rng.random(m) * (END_US - START_US - DAY_US)).astype(np.int64)
    model = np.where(ts > RELEASE_US + 6 * HOUR_US, M_NEW, M_REASON)
    ips = sample_ips(rng, w.cidrs["residential"], 400, n_prefixes=400)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": np.full(m, None, dtype=object),
        "in_tok": rng.integers(190, 330, size=m),
        "out_tok": cot_output(rng, m, 2600),
        "ip": pick(rng, ips, m),
        "model": model,
        "stream": np.zeros(m, bool),
    }
    return Block(ac, ev)
