"""Attack campaigns 1-3 from the public record: CoT harvest, defense arbitrage, hydra.

All attack traffic starts on day 2 (`ATTACK_START_US`). Accounts are labelled with their
campaign id (``h2c-*``) and an attacker persona name.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from _h2_clients import BROWSER_UAS, _fill, ja4
from _h2_clock import diurnal_poisson
from _h2_common import (
    ATTACK_START_US,
    DAY_US,
    END_US,
    HOUR_US,
    MODEL_LEGACY,
    MODEL_NEW,
    MODEL_REASON,
    MODEL_STD,
    RELEASE_US,
    START_US,
    US,
    Pop,
    accounts_block,
    cards,
    pick,
    rank_in_segment,
    seg_cumsum,
)
from _h2_frame import source_mix
from _h2_text import COT_WRAPPERS, HYDRA_WRAPPERS, sample_text, wrap
from _h2_world import World, tz_of

#: Campaign 3: accounts running at once, and mean lifetime before a ban forces a swap.
HYDRA_SLOTS = 520
HYDRA_MEAN_LIFE_DAYS = 1.8
#: Campaign 3: accounts created per account that ends up sending traffic (short-lived ones
#: that were banned before their first request never appear in the logs).
HYDRA_CREATED_PER_ACTIVE = 1.13
#: Campaign 3: hours after the release by which the hydra has moved to the new model.
HYDRA_PIVOT_LAG_H = 3.0
#: Campaign 3: share of hydra traffic that is the reseller's unrelated genuine customers.
HYDRA_COVER_SHARE = 0.35

REASONING_POOLS = ["gsm8k_train", "math_bare", "bbh", "mbpp"]


def _reason_model(rng: np.random.Generator, m: int, p_reason: float) -> np.ndarray:
    return np.where(rng.random(m) < p_reason, MODEL_REASON, MODEL_STD).astype(object)


def _finish(rng: np.random.Generator, w: World, n: int, ev: dict, kind: str = "reason") -> dict:
    """Token sizes for the prompts in ``ev``; reasoning tokens for reasoning models."""
    tok = w.tokens(rng, w.token_profile(rng, n, kind), ev["acct"], [ev.get("prompt"), ev.get("system")])
    r = tok.get("reason_tok", (tok["out_tok"] * 0.6).astype(np.int64))
    is_r = np.isin(ev["model"], [MODEL_REASON, MODEL_NEW])
    ev["in_tok"] = tok["in_tok"]
    ev["out_tok"] = tok["out_tok"] + np.where(is_r, r, 0)
    ev["reason_tok"] = pa.array(r, pa.int64(), mask=~is_r)
    return ev


def cot_harvest(rng: np.random.Generator, w: World, n: int = 60) -> Pop:
    """60 accounts, one card each, one JA4 and UA family, independent jittered arrivals round
    the clock (no lockstep), real reasoning tasks wrapped in ~10 CoT-extraction paraphrases."""
    created = START_US - (rng.uniform(3, 12, n) * DAY_US).astype(np.int64)
    country = pick(rng, ["US", "SG", "DE", "GB", "CA", "NL", "JP"], n)
    ac = accounts_block(
        rng,
        n,
        persona="cot_harvester",
        tier=pick(rng, ["paid", "free"], n, [0.8, 0.2]),
        created_us=created,
        country=country,
        payment=cards(rng, n),
        source=source_mix(rng, n),
        is_attack=True,
        campaign="h2c-cot-harvest",
    )
    ac["ua"] = np.char.add("aiohttp/3.9.", rng.integers(0, 6, n).astype(str)).astype(object)
    ac["ua"] = np.char.add(ac["ua"].astype(str), " Python/3.11").astype(object)
    ac["ja4"] = np.full(n, ja4("aiohttp_custom_tls"), dtype=object)
    t0 = ATTACK_START_US + (rng.random(n) * 12 * HOUR_US).astype(np.int64)
    acct, ts = diurnal_poisson(
        rng,
        per_day=np.exp(np.log(280) + 0.4 * rng.standard_normal(n)),
        t0=t0,
        t1=np.full(n, END_US),
        tz_hours=tz_of(country),
        flat=0.85,
    )
    m = len(acct)
    core = sample_text(rng, [w.corpus.text[p] for p in REASONING_POOLS], [0.35, 0.25, 0.25, 0.15], m)
    prompt, _ = wrap(rng, core, COT_WRAPPERS)
    host = w.pool_ips(rng, w.net.hosting, 3 * n).reshape(n, 3)
    vpn = np.asarray(w.rotating_ips(rng, w.net.vpn, m).to_pylist(), dtype=object)
    ip = np.where(rng.random(m) < 0.3, vpn, host[acct, rng.integers(0, 3, m)])
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "ip": ip,
        "model": _reason_model(rng, m, 0.7),
        "temperature": rng.choice([0.6, 0.7, 1.0], m),
        "stream": rng.random(m) < 0.1,
    }
    return Pop(ac, _finish(rng, w, n, ev))


def arbitrage(rng: np.random.Generator, w: World, n: int = 150) -> Pop:
    """Self-instruct / Evol-Instruct generation on the OLD model from startup and research
    accounts created in two bursts (one the evening before the attack), batch cadence."""
    n_a = int(n * 0.6)
    burst_a = START_US - 9 * DAY_US + (rng.random(n_a) * 6 * HOUR_US).astype(np.int64)
    burst_b = START_US + 14 * HOUR_US + (rng.random(n - n_a) * 4 * HOUR_US).astype(np.int64)
    shared = cards(rng, 5)
    pay = np.where(rng.random(n) < 0.7, None, shared[rng.integers(0, 5, n)]).astype(object)
    country = pick(rng, ["US", "SG", "HK", "GB", "AE"], n, [0.4, 0.2, 0.2, 0.1, 0.1])
    ac = accounts_block(
        rng,
        n,
        persona="arbitrage_selfinstruct",
        tier=pick(rng, ["startup", "research"], n, [0.6, 0.4]),
        created_us=np.r_[burst_a, burst_b],
        country=country,
        payment=pay,
        source=source_mix(rng, n),
        is_attack=True,
        campaign="h2c-arbitrage",
    )
    ac["ua"] = np.char.add("nimbus-python/0.9.", rng.integers(0, 4, n).astype(str)).astype(object)
    ac["ja4"] = np.full(n, ja4("py_ssl"), dtype=object)
    # batches: 0.5-1.5 a day per account, 30-100 requests each, 1.5-4 s apart
    start = np.maximum(ATTACK_START_US, ac["created_us"] + HOUR_US)
    b_acct, b_ts = diurnal_poisson(
        rng,
        per_day=rng.uniform(0.5, 1.5, n),
        t0=start,
        t1=np.full(n, END_US),
        tz_hours=np.full(n, 8.0),
        flat=0.5,
    )
    size = rng.integers(30, 100, len(b_acct))
    b = np.repeat(np.arange(len(b_acct)), size)
    gaps = rng.exponential(2.5, len(b)) + 0.8
    gaps[rank_in_segment(b) == 0] = 0
    ts = b_ts[b] + (seg_cumsum(gaps, b) * US).astype(np.int64)
    acct = b_acct[b]
    m = len(acct)
    t = w.corpus.text
    prompt = sample_text(
        rng, [t["selfinstruct_meta"], t["evol_meta"], t["alpaca_tasks"]], [0.35, 0.15, 0.5], m
    )
    sys_on = (rng.random(n) < 0.5)[acct]
    system = pc.if_else(
        pa.array(sys_on),
        pa.scalar("You are a data generation assistant. Follow the format exactly."),
        pa.nulls(m, pa.string()),
    )
    cloud = np.stack([w.pool_ips(rng, w.net.gcp, n), w.pool_ips(rng, w.net.azure, n)], axis=1)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": system,
        "ip": cloud[acct, rng.integers(0, 2, m)],
        "model": np.full(m, MODEL_LEGACY, dtype=object),
        "temperature": np.full(m, 1.0),
        "stream": np.zeros(m, bool),
    }
    ev = _finish(rng, w, n, ev, "chat")
    ev["reason_tok"] = None
    return Pop(ac, ev)


def _hydra_chain(rng: np.random.Generator, total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Account lifetimes in ``HYDRA_SLOTS`` slots: a banned account is replaced at once."""
    per_slot = int(np.ceil(total / HYDRA_SLOTS)) + 3
    life = rng.exponential(HYDRA_MEAN_LIFE_DAYS * DAY_US, size=(HYDRA_SLOTS, per_slot))
    life[:, 0] *= rng.random(HYDRA_SLOTS)  # slots start mid-life of their first account
    begin = (
        ATTACK_START_US + (rng.random(HYDRA_SLOTS) * 6 * HOUR_US)[:, None] + np.cumsum(life, axis=1) - life
    )
    end = begin + life
    begin, end = begin.ravel().astype(np.int64), end.ravel().astype(np.int64)
    live = begin < END_US
    order = np.argsort(begin[live], kind="stable")[:total]
    return begin[live][order], np.minimum(end[live][order], END_US), np.arange(len(order))


def hydra(rng: np.random.Generator, w: World, n: int = 1500) -> Pop:
    """A reseller's hydra: ~520 accounts live at once, each banned one replaced instantly,
    every request from a fresh residential-proxy IP, spoofed browser UAs on scripted TLS,
    genuine resold customer traffic mixed in, and a pivot to the new model within hours."""
    t0, t1, _ = _hydra_chain(rng, int(n * HYDRA_CREATED_PER_ACTIVE))
    n = len(t0)
    country = pick(rng, ["US", "CN", "SG", "HK", "VN", "RU", "BR", "IN", "DE"], n)
    created = t0 - (rng.uniform(0.02, 3.0, n) * DAY_US).astype(np.int64)
    tier = pick(rng, ["free", "paid"], n, [0.6, 0.4])
    prepaid = cards(rng, 120)
    pay = np.where(tier == "paid", prepaid[rng.integers(0, 120, n)], None).astype(object)
    ac = accounts_block(
        rng,
        n,
        persona="hydra_reseller",
        tier=tier,
        created_us=created,
        country=country,
        payment=pay,
        source=source_mix(rng, n),
        is_attack=True,
        campaign="h2c-hydra",
    )
    ui = rng.integers(len(BROWSER_UAS), size=n)
    ac["ua"] = _fill(rng, np.asarray(BROWSER_UAS, dtype=object)[ui], n)
    ac["ja4"] = np.array([ja4(f) for f in ("go", "py_ssl", "curl_impersonate")], dtype=object)[
        rng.integers(0, 3, n)
    ]
    acct, ts = diurnal_poisson(
        rng,
        per_day=np.exp(np.log(70) + 0.5 * rng.standard_normal(n)),
        t0=t0,
        t1=t1,
        tz_hours=np.full(n, 8.0),
        flat=0.6,
    )
    m = len(acct)
    t = w.corpus.text
    core = sample_text(
        rng, [t[p] for p in REASONING_POOLS] + [t["humaneval"]], [0.3, 0.25, 0.2, 0.15, 0.1], m
    )
    extraction, _ = wrap(rng, core, HYDRA_WRAPPERS)
    cover = sample_text(rng, [t["sharegpt"], t["arena"]], [0.85, 0.15], m)
    prompt = pc.if_else(pa.array(rng.random(m) < HYDRA_COVER_SHARE), cover, extraction)
    model = _reason_model(rng, m, 0.6)
    pivot = ts >= RELEASE_US + int(HYDRA_PIVOT_LAG_H * HOUR_US * rng.uniform(0.3, 1.0))
    model[pivot & (rng.random(m) < 0.85)] = MODEL_NEW
    proxy_country = pick(rng, ["US", "GB", "DE", "FR", "JP", "IN", "BR", "CA", "VN", "KR"], m)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "model": model,
        "ip": w.rotating_ips(rng, w.net.residential, m, proxy_country),
    }
    return Pop(ac, _finish(rng, w, n, ev))
