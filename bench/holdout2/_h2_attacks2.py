"""Attack campaigns 4-6: low-and-slow paraphrasers, agentic tool harvest, stolen-key relay."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from _h2_benign import developers
from _h2_clients import clients, ja4
from _h2_clock import diurnal_poisson, human_sessions, periodic
from _h2_common import (
    ATTACK_START_US,
    DAY_US,
    DAYS,
    END_US,
    HOUR_US,
    MODEL_NEW,
    MODEL_REASON,
    MODEL_STD,
    RELEASE_US,
    START_US,
    Pop,
    accounts_block,
    cards,
    hex_ids,
    pick,
    take_text,
)
from _h2_frame import source_mix
from _h2_text import AGENT_HARVEST_SYSTEM, LOWSLOW_WRAPPERS, RELAY_SYSTEM_PROMPTS, sample_text, wrap
from _h2_world import World, tz_of

#: Campaign 4: daily request budget per account (uniform between the two).
LOWSLOW_PER_DAY = (10, 40)
#: Campaign 4: share of requests that are innocuous cover questions.
LOWSLOW_COVER_SHARE = 0.15
#: Campaign 5: seconds between requests (uniform per account) and the jitter around it.
TOOL_PERIOD_S = (70.0, 130.0)
TOOL_JITTER_S = 0.4
#: Campaign 6: requests a day the relay pushes through each stolen key.
RELAY_PER_KEY_DAY = 380


def _finish(rng: np.random.Generator, w: World, n: int, ev: dict) -> dict:
    tok = w.tokens(rng, w.token_profile(rng, n, "reason"), ev["acct"], [ev.get("prompt"), ev.get("system")])
    is_r = np.isin(ev["model"], [MODEL_REASON, MODEL_NEW])
    ev["in_tok"] = tok["in_tok"]
    ev["out_tok"] = tok["out_tok"] + np.where(is_r, tok["reason_tok"], 0)
    ev["reason_tok"] = pa.array(tok["reason_tok"], pa.int64(), mask=~is_r)
    return ev


def low_and_slow(rng: np.random.Generator, w: World, n: int = 400) -> Pop:
    """400 aged accounts with their own cards and home IPs, 10-40 requests a day in human
    sessions, extraction phrased ~100 casual ways, some cover questions mixed in."""
    country = w.countries(rng, n)
    tier = pick(rng, ["paid", "free"], n, [0.7, 0.3])
    ac = accounts_block(
        rng,
        n,
        persona="lowslow_paraphrase",
        tier=tier,
        created_us=START_US - (rng.uniform(10, 70, n) * DAY_US).astype(np.int64),
        country=country,
        payment=np.where(tier == "paid", cards(rng, n), None),
        source=source_mix(rng, n),
        is_attack=True,
        campaign="h2c-lowslow",
    )
    ac["ua"], ac["ja4"] = clients(rng, n, "browser")
    budget = rng.uniform(*LOWSLOW_PER_DAY, n)
    acct, ts, sess = human_sessions(
        rng,
        day_lo=np.ones(n, np.int64),
        day_hi=np.full(n, DAYS, np.int64),
        sess_per_day=budget / 6.0,
        req_per_sess=np.full(n, 6.0),
        tz_hours=tz_of(country),
        gap_median_s=70,
    )
    keep = ts >= ATTACK_START_US  # local day 2 can begin before 00:00 UTC east of Greenwich
    acct, ts, sess = acct[keep], ts[keep], sess[keep]
    m = len(acct)
    t = w.corpus.text
    core = sample_text(
        rng,
        [t["gsm8k_train"], t["math_bare"], t["bbh"], t["mbpp"], t["humaneval"]],
        [0.3, 0.25, 0.2, 0.15, 0.1],
        m,
    )
    extraction, _ = wrap(rng, core, LOWSLOW_WRAPPERS)
    cover = sample_text(rng, [t["sharegpt"], t["simpleqa"]], [0.7, 0.3], m)
    prompt = pc.if_else(pa.array(rng.random(m) < LOWSLOW_COVER_SHARE), cover, extraction)
    model = np.where(rng.random(m) < 0.5, MODEL_REASON, MODEL_STD).astype(object)
    model[(ts >= RELEASE_US) & (rng.random(m) < 0.3)] = MODEL_NEW
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "model": model,
        "ip": w.home_ips(rng, country, acct, ts),
        "conv": hex_ids(rng, int(sess.max()) + 1, 8, "conv_")[sess],
        "stream": rng.random(m) < 0.7,
    }
    return Pop(ac, _finish(rng, w, n, ev))


def tool_harvest(rng: np.random.Generator, w: World, n: int = 16) -> Pop:
    """Agentic trajectory harvest: real BFCL tasks with their tool schemas plus padded
    synthetic tools, one request every ~100 s per account (sd 0.4 s), from fixed AWS IPs."""
    tier = pick(rng, ["startup", "paid"], n, [0.4, 0.6])
    ac = accounts_block(
        rng,
        n,
        persona="agentic_tool_harvest",
        tier=tier,
        created_us=START_US - (rng.uniform(2, 20, n) * DAY_US).astype(np.int64),
        country=pick(rng, ["US", "SG", "GB"], n),
        payment=cards(rng, n),
        source=source_mix(rng, n),
        is_attack=True,
        campaign="h2c-toolharvest",
    )
    ac["ua"] = np.full(n, "python-requests/2.31.0", dtype=object)
    ac["ja4"] = np.full(n, ja4("py_ssl"), dtype=object)
    t0 = ATTACK_START_US + (rng.random(n) * 8 * HOUR_US).astype(np.int64)
    acct, ts = periodic(
        rng, t0=t0, t1=np.full(n, END_US), period_s=rng.uniform(*TOOL_PERIOD_S, n), jitter_s=TOOL_JITTER_S
    )
    m = len(acct)
    task = rng.integers(len(w.corpus.text["tools"]), size=m)
    prompt = take_text(w.corpus.text["tools"], task)
    system = pc.binary_join_element_wise(
        pa.scalar(AGENT_HARVEST_SYSTEM), take_text(w.corpus.text["tool_schemas"], task), ""
    )
    model = np.full(m, MODEL_STD, dtype=object)
    model[(ts >= RELEASE_US) & (rng.random(m) < 0.4)] = MODEL_NEW
    ip = w.pool_ips(rng, w.net.aws, n)[acct]
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": system,
        "model": model,
        "ip": ip,
        "tool_count": w.corpus.tool_count[task] + rng.integers(5, 40, m),
        "temperature": np.full(m, 0.8),
        "conv": hex_ids(rng, m, 8, "traj_"),
        "stream": np.zeros(m, bool),
    }
    return Pop(ac, _finish(rng, w, n, ev))


def stolen_key_relay(rng: np.random.Generator, w: World, n: int = 15) -> Pop:
    """A relay forwarding its own users' real ShareGPT prompts with a reasoning-extraction
    system prompt through 15 harvested keys of legitimate customers, who keep using them."""
    pop = developers(rng, w, n)  # the victims: ordinary paying developers with their own traffic
    ac = pop.accounts
    ac["persona"][:] = "relay_stolen_key"
    ac["is_attack"][:] = True
    ac["campaign"][:] = "h2c-relay"
    ac["payment"] = cards(rng, n)
    ac["tier"][:] = "paid"
    ac["api_key"] = hex_ids(rng, n, 8, "key_")
    own = pop.events
    t0 = ATTACK_START_US + (rng.random(n) * 30 * HOUR_US).astype(np.int64)
    acct, ts = diurnal_poisson(
        rng,
        per_day=np.full(n, float(RELAY_PER_KEY_DAY)),
        t0=t0,
        t1=np.full(n, END_US),
        tz_hours=np.full(n, 8.0),
        flat=0.3,
    )
    m = len(acct)
    prompt = sample_text(rng, [w.corpus.text["sharegpt"]], [1.0], m)
    system = pa.array(np.full(m, RELAY_SYSTEM_PROMPTS[0], dtype=object).tolist(), pa.string())
    relay_ips = w.pool_ips(rng, w.net.hosting, 3)
    model = np.where(rng.random(m) < 0.5, MODEL_REASON, MODEL_STD).astype(object)
    relay = _finish(rng, w, n, {"acct": acct, "ts": ts, "prompt": prompt, "system": system, "model": model})
    k_own = len(own["acct"])
    merged: dict = {}
    for key in ("acct", "ts", "model", "in_tok", "out_tok"):
        merged[key] = np.concatenate([np.asarray(own[key]), np.asarray(relay[key])])
    merged["prompt"] = pa.concat_arrays([own["prompt"], relay["prompt"]])
    merged["system"] = pa.concat_arrays([pa.nulls(k_own, pa.string()), system])
    merged["reason_tok"] = pa.concat_arrays([own["reason_tok"], relay["reason_tok"]])
    merged["ip"] = pa.concat_arrays(
        [pc.cast(own["ip"], pa.string()), pa.array(relay_ips[rng.integers(0, 3, m)].tolist(), pa.string())]
    )
    merged["conv"] = np.r_[np.asarray(own["conv"], dtype=object), np.full(m, None, dtype=object)]
    merged["ua"] = np.r_[ac["ua"][own["acct"]], np.full(m, "axios/1.6.8", dtype=object)]
    merged["ja4"] = np.r_[ac["ja4"][own["acct"]], np.full(m, ja4("node"), dtype=object)]
    merged["api_key"] = ac["api_key"][merged["acct"]]
    merged["has_image"] = np.r_[own["has_image"], np.zeros(m, bool)]
    return Pop(ac, merged)


def attacks2(rng: np.random.Generator, w: World, scale: float) -> list[Pop]:
    def k(x: int) -> int:
        return max(3, round(x * scale))

    return [low_and_slow(rng, w, k(400)), tool_harvest(rng, w, k(16)), stolen_key_relay(rng, w, 15)]
