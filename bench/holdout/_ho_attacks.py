"""Attack campaigns, part 1: tactics chosen to differ from a naive simulator.

* ``cot_paraphrase_fleet``: CoT harvest over real task corpora with rotating paraphrased
  wrappers, one card per account, a residential proxy pool, staggered shifts, one custom
  TLS stack shared by the fleet;
* ``hydra_reseller``: a proxy reseller load-balancing its real customers' traffic and its own
  harvest over short-lived accounts that are replaced as they get banned;
* ``lowslow_fleet``: hundreds of aged accounts, human sessions with a diurnal cycle (in the
  operators' time zone), sticky residential IPs, an older model, instruction-tuning prompts;
* ``rubric_judge``: model-as-judge grading of harvested answers from abused startup accounts.
"""

from __future__ import annotations

import numpy as np
from _ho_clients import JA4_COMMON, UA, pick_clients, rare_ja4
from _ho_clock import DIURNAL_HOME, sessions
from _ho_common import Ctx, countries, models, reasoning_tokens, think_output
from _ho_frame import Block, accounts, concat, est_tokens, hex_ids
from _ho_text import (
    COT_CLOSERS,
    COT_OPENERS,
    HYDRA_CLOSERS,
    LOWSLOW_CLOSERS,
    RUBRIC_CRITERIA,
    RUBRIC_TEMPLATES,
    fill,
    pick,
)

FLAT = np.ones(24)
_MATH_SUFFIX = "\nPlease reason step by step, and put your final answer within \\boxed{}."


def task_bodies(ctx: Ctx, m: int, mix: dict[str, float]) -> np.ndarray:
    """Harvest targets drawn from real task corpora by share (keys are Corpus attributes)."""
    names = list(mix)
    w = np.array(list(mix.values()))
    which = ctx.rng.choice(len(names), m, p=w / w.sum())
    out = np.empty(m, dtype=object)
    for i, name in enumerate(names):
        sel = which == i
        out[sel] = pick(ctx.rng, getattr(ctx.corpus, name), int(sel.sum()))
    strip = ctx.rng.random(m) < 0.7  # the fleet usually drops the benchmark's own CoT suffix
    cut = np.array([s.replace(_MATH_SUFFIX, "") for s in out[strip]], dtype=object)
    out[strip] = cut
    return out


def cot_wrap(
    ctx: Ctx, body: np.ndarray, key: np.ndarray, closers: tuple[str, ...] = COT_CLOSERS
) -> np.ndarray:
    """Rotating paraphrased CoT wrappers: the opener and closer pair changes with ``key``
    (account x day), and each event picks one of three closers for its key."""
    rng = ctx.rng
    k = np.unique(key, return_inverse=True)[1]
    o_of = rng.integers(0, len(COT_OPENERS), k.max() + 1)
    c_of = rng.integers(0, len(closers), (k.max() + 1, 3))
    opener = fill(COT_OPENERS, o_of[k], k=rng.integers(1, 900, body.size))
    closer = np.asarray(closers, dtype=object)[c_of[k, rng.integers(0, 3, body.size)]]
    return concat(opener, body, closer)


def _harvest_ev(
    ctx: Ctx, a: np.ndarray, t: np.ndarray, prompt: np.ndarray, model: np.ndarray, out_median: float
) -> dict[str, np.ndarray]:
    rng = ctx.rng
    out = think_output(rng, model, rng.lognormal(np.log(out_median), 0.6, t.size).astype(np.int64))
    return {
        "acct": a,
        "t": t,
        "model": model,
        "prompt": prompt,
        "input_tokens": est_tokens(prompt),
        "output_tokens": out,
        "reasoning_output_tokens": reasoning_tokens(rng, model, out),
    }


def cot_paraphrase_fleet(ctx: Ctx) -> Block:
    rng = ctx.rng
    n = ctx.n(120, 10)
    acc = accounts(
        n,
        "cot_paraphrase_fleet",
        campaign="hx-paraphrase",
        tier=rng.choice(["free", "paid"], n, p=[0.4, 0.6]),
        country=countries(rng, n),
        created_s=-rng.uniform(2, 35, n) * 86400,
        payment=hex_ids(rng, "pm_", n, 14),
    )
    lo = rng.uniform(0, 5, n)
    s = sessions(
        rng,
        rng.uniform(2, 4, n),
        np.zeros(n),
        ctx.days,
        reqs_mean=25,
        gap_median_s=25,
        gap_sigma=0.6,
        diurnal=FLAT + DIURNAL_HOME / 10,
        day_lo=lo,
        day_hi=np.minimum(lo + rng.uniform(3, 10, n), ctx.days),
    )
    a, t, m = s["acct"], s["t"], s["t"].size
    body = task_bodies(ctx, m, {"gsm8k_train": 0.35, "competition_math": 0.25, "bbh": 0.25, "code": 0.15})
    prompt = cot_wrap(ctx, body, a * 100 + (t // 86400).astype(np.int64))
    model = np.where(rng.random(m) < 0.7, "atlas-3-think", "atlas-3")
    ev = _harvest_ev(ctx, a, t, prompt, model, 600)
    proxy = np.concatenate([ctx.net.sample(rng, "res_any", 3200), ctx.net.sample(rng, "mob_US", 800)])
    ja4 = rare_ja4(rng, 2)
    ua, _ = pick_clients(rng, ("python",), n)
    ev.update(
        {
            "client_ip": proxy[rng.integers(0, proxy.size, m)],
            "tls_fingerprint": ja4[rng.integers(0, 2, n)][a],
            "user_agent": ua[a],
            "api_key_id": hex_ids(rng, "key_", n, 10)[a],
            "stream": rng.random(m) < 0.5,
            "temperature": rng.choice(np.array([None, 0.6, 0.7, 1.0]), n)[a],
        }
    )
    return Block(acc, ev)


def hydra_reseller(ctx: Ctx) -> Block:
    rng = ctx.rng
    slots = ctx.n(45, 5)
    starts, slot_of = [], []
    for sl in range(slots):  # each slot: an account until banned, then a fresh replacement
        life = rng.uniform(0.7, 3.0, 20) * 86400
        st = np.r_[-rng.uniform(0, 2) * 86400, np.cumsum(life)[:-1] - rng.uniform(0, 2) * 86400]
        st = st[st < ctx.days * 86400]
        starts.append(st)
        slot_of.append(np.full(st.size, sl))
    start = np.concatenate(starts)
    slot = np.concatenate(slot_of)
    n = start.size
    end = np.empty(n)
    for sl in range(slots):
        idx = np.flatnonzero(slot == sl)
        end[idx] = np.r_[start[idx][1:], ctx.days * 86400]
    created = np.maximum(start, -2 * 86400) - rng.uniform(0.5, 6, n) * 3600
    card = hex_ids(rng, "pm_", n // 6 + 1, 14)[np.argsort(np.argsort(created)) // 6]
    acc = accounts(
        n,
        "hydra_reseller",
        campaign="hx-hydra",
        tier="paid",
        country=rng.choice(["US", "GB", "SG", "HK"], n),
        created_s=created,
        payment=card,
    )
    # Customers: human sessions (mostly UTC+8) that the reseller load-balances over live accounts.
    cust = ctx.n(1000, 50)
    cs = sessions(
        rng,
        rng.lognormal(np.log(0.6), 0.8, cust),
        rng.choice([8.0, 8.0, 3.0, -5.0], cust),
        ctx.days,
        reqs_mean=5,
        gap_median_s=60,
    )
    ct = cs["t"]
    cprompt = pick(rng, ctx.corpus.chat, ct.size)
    nonen = rng.random(ct.size) < 0.1
    cprompt[nonen] = pick(rng, ctx.corpus.chat_non_english, int(nonen.sum()))
    cmodel = models(rng, ct, {"atlas-3": 0.5, "atlas-3-mini": 0.3, "atlas-3-think": 0.2}, adopt_max=0.3)
    # Harvest: a steady job stream, 24h, ~45% of the reseller's volume.
    hn = int(ct.size * 0.8)
    ht = np.sort(rng.uniform(0, ctx.days * 86400, hn))
    hbody = task_bodies(ctx, hn, {"bbh": 0.3, "competition_math": 0.3, "code": 0.2, "gsm8k_train": 0.2})
    hprompt = cot_wrap(ctx, hbody, (ht // 43200).astype(np.int64), HYDRA_CLOSERS)
    t = np.concatenate([ct, ht])
    prompt = np.concatenate([cprompt, hprompt])
    model = np.concatenate([cmodel, np.where(rng.random(hn) < 0.8, "atlas-3-think", "atlas-3")])
    # Load balancing: each request goes to a random slot's account alive at that time.
    rs = rng.integers(0, slots, t.size)
    order = np.lexsort((start, slot))
    a = np.empty(t.size, dtype=np.int64)
    for sl in range(slots):
        idx = order[slot[order] == sl]
        m = rs == sl
        a[m] = idx[np.clip(np.searchsorted(start[idx], t[m], side="right") - 1, 0, idx.size - 1)]
    ev = _harvest_ev(ctx, a, t, prompt, model, 500)
    conv = hex_ids(rng, "conv_", int(cs["sess"].max()) + 1)[cs["sess"]]
    servers = ctx.net.sample(rng, "hosting", 25)
    ev.update(
        {
            "client_ip": servers[rng.integers(0, 25, t.size)],
            "user_agent": UA["go"][0],
            "tls_fingerprint": JA4_COMMON["go"],
            "api_key_id": hex_ids(rng, "key_", n, 10)[a],
            "conversation_id": np.concatenate([conv, np.full(hn, None, object)]),
            "stream": rng.random(t.size) < 0.6,
        }
    )
    return Block(acc, ev)


def lowslow_fleet(ctx: Ctx) -> Block:
    rng = ctx.rng
    n = ctx.n(300, 10)
    cc = rng.choice(["US", "US", "GB", "AU"], n).astype(object)
    acc = accounts(
        n,
        "lowslow_fleet",
        campaign="hx-lowslow",
        tier="paid",
        country=cc,
        created_s=-rng.uniform(60, 120, n) * 86400,
        payment=hex_ids(rng, "pm_", n, 14),
    )
    s = sessions(rng, rng.uniform(1.5, 3.0, n), np.full(n, 8.0), ctx.days, reqs_mean=7, gap_median_s=70)
    a, t, m = s["acct"], s["t"], s["t"].size
    body = task_bodies(ctx, m, {"instructions": 0.6, "simpleqa": 0.2, "gsm8k_train": 0.2})
    cot = rng.random(m) < 0.35
    prompt = body.copy()
    prompt[cot] = cot_wrap(ctx, body[cot], a[cot], LOWSLOW_CLOSERS)
    model = np.where(rng.random(m) < 0.7, "atlas-2", "atlas-3")
    ev = _harvest_ev(ctx, a, t, prompt, model, 450)
    # Static residential ("ISP") proxies: one address per account, rotated every ~3 days.
    rot = (t // (3 * 86400)).astype(np.int64)
    pool = ctx.net.sample(rng, "res_US", n * 5).reshape(n, 5)
    ua, ja4 = pick_clients(rng, ("chrome",), n)
    ev.update(
        {
            "client_ip": pool[a, np.clip(rot, 0, 4)],
            "user_agent": ua[a],
            "tls_fingerprint": ja4[a],
            "conversation_id": hex_ids(rng, "conv_", int(s["sess"].max()) + 1)[s["sess"]],
            "stream": True,
        }
    )
    return Block(acc, ev)


def rubric_judge(ctx: Ctx) -> Block:
    rng = ctx.rng
    n = ctx.n(50, 6)
    batch = rng.random(n) < 0.5
    created = np.where(batch, -20.0, -8.0) * 86400 + rng.uniform(-1, 1, n) * 86400
    acc = accounts(
        n,
        "rubric_judge",
        campaign="hx-rubric",
        tier="startup",
        country="US",
        created_s=created,
        payment=hex_ids(rng, "pm_", 5, 14)[rng.integers(0, 5, n)],
    )
    s = sessions(
        rng,
        rng.uniform(1.5, 2.5, n),
        np.zeros(n),
        ctx.days,
        reqs_mean=50,
        gap_median_s=20,
        gap_sigma=0.7,
        diurnal=FLAT,
    )
    a, t, m = s["acct"], s["t"], s["t"].size
    pair = ctx.corpus.harvested_pairs[rng.integers(0, ctx.corpus.harvested_pairs.shape[0], m)]
    crit = np.asarray(RUBRIC_CRITERIA, dtype=object)[rng.integers(0, len(RUBRIC_CRITERIA), m)]
    prompt = fill(
        RUBRIC_TEMPLATES, rng.integers(0, len(RUBRIC_TEMPLATES), m), c=crit, i=pair[:, 0], r=pair[:, 1]
    )
    model = np.where(rng.random(m) < 0.5, "atlas-3-think", "atlas-3")
    ev = _harvest_ev(ctx, a, t, prompt, model, 350)
    ips = ctx.net.sample(rng, "azure", n * 2).reshape(n, 2)
    ua, ja4 = pick_clients(rng, ("python",), n)
    ev.update(
        {
            "client_ip": ips[a, rng.integers(0, 2, m)],
            "user_agent": ua[a],
            "tls_fingerprint": ja4[a],
            "temperature": 0.0,
            "stream": False,
        }
    )
    return Block(acc, ev)
