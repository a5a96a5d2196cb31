"""Hard negatives: legitimate customers that look like a campaign on one axis or more.

Each function's docstring says which attacker trait it imitates, so a false positive on it
points straight at the signal that over-trusts that trait.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from _h2_clients import clients, ja4
from _h2_clock import diurnal_poisson, human_sessions, servegen_replay
from _h2_common import (
    DAY_US,
    DAYS,
    END_US,
    HOUR_US,
    MODEL_MINI,
    MODEL_NEW,
    MODEL_REASON,
    MODEL_STD,
    RELEASE_US,
    START_US,
    US,
    Pop,
    accounts_block,
    cards,
    hex_ids,
    pick,
    rank_in_segment,
    seg_cumsum,
    take_text,
)
from _h2_frame import source_mix
from _h2_text import (
    AGENT_SYSTEM,
    BENCH_SYSTEMS,
    MOOC_HEADER,
    MOOC_SUFFIX,
    SAAS_SYSTEM,
    sample_text,
)
from _h2_world import World, created_before

#: MOOC: questions in the graded assignment, and its deadline (day 3, 23:59 US-Eastern).
MOOC_QUESTIONS = 6
MOOC_DEADLINE_US = START_US + 3 * DAY_US + 4 * HOUR_US + 59 * 60 * US
#: MOOC: every submission lands in the two hours before the deadline.
MOOC_WINDOW_US = 2 * HOUR_US


def _const(n: int, v: object) -> np.ndarray:
    return np.full(n, v, dtype=object)


def mooc(rng: np.random.Generator, w: World, n: int = 400) -> Pop:
    """Same graded CoT assignment, 400 edu accounts, 3 campus NAT IPs, one 2-hour burst,
    accounts created together at enrolment: imitates template sharing, shared infra,
    synchronized timing and a signup burst all at once."""
    enrol = START_US - 16 * DAY_US + (rng.random(n) * 30 * HOUR_US).astype(np.int64)
    ac = accounts_block(
        rng,
        n,
        persona="benign_mooc_cohort",
        tier="edu",
        created_us=enrol,
        country="US",
        source=source_mix(rng, n),
    )
    ac["ua"], ac["ja4"] = clients(rng, n, "browser")
    nat = w.pool_ips(rng, w.net.university, 3)
    # the assignment: each student asks every question, some retry
    q_pool = w.corpus.text["math_bare"]
    qs = rng.choice(len(q_pool), size=MOOC_QUESTIONS, replace=False)
    tries = rng.integers(1, 3, size=(n, MOOC_QUESTIONS))
    a_acct = np.repeat(np.repeat(np.arange(n), MOOC_QUESTIONS), tries.ravel())
    a_q = np.repeat(np.tile(np.arange(MOOC_QUESTIONS), n), tries.ravel())
    lead = rng.beta(1.3, 3.0, len(a_acct)) * MOOC_WINDOW_US  # most submit close to the deadline
    a_ts = (MOOC_DEADLINE_US - lead).astype(np.int64)
    header = pa.array([MOOC_HEADER.format(q=i + 1) for i in range(MOOC_QUESTIONS)], pa.string())
    a_prompt = pc.binary_join_element_wise(
        take_text(header, a_q), take_text(q_pool, qs[a_q]), pa.scalar(MOOC_SUFFIX), ""
    )
    # ordinary use over the week, from campus or home
    o_acct, o_ts, _ = human_sessions(
        rng,
        day_lo=np.zeros(n, np.int64),
        day_hi=np.full(n, DAYS, np.int64),
        sess_per_day=np.full(n, 0.4),
        req_per_sess=np.full(n, 3.0),
        tz_hours=np.full(n, -5.0),
    )
    o_prompt = sample_text(
        rng, [w.corpus.text["sharegpt"], w.corpus.text["gsm8k_train"]], [0.7, 0.3], len(o_acct)
    )
    acct = np.r_[a_acct, o_acct]
    ts = np.r_[a_ts, o_ts]
    prompt = pa.concat_arrays([a_prompt, o_prompt])
    on_campus = np.r_[np.ones(len(a_acct), bool), rng.random(len(o_acct)) < 0.6]
    home = w.home_ips(rng, _const(n, "US"), acct, ts)
    ip = pc.if_else(
        pa.array(on_campus), pa.array(nat[rng.integers(0, 3, len(acct))].tolist(), pa.string()), home
    )
    tok = w.tokens(rng, w.token_profile(rng, n, "reason"), acct, [prompt])
    model = pick(rng, [MODEL_REASON, MODEL_STD, MODEL_MINI], len(acct), [0.5, 0.3, 0.2])
    is_r = model == MODEL_REASON
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "ip": ip,
        "model": model,
        "in_tok": tok["in_tok"],
        "out_tok": tok["out_tok"] + np.where(is_r, tok["reason_tok"], 0),
        "reason_tok": pa.array(tok["reason_tok"], pa.int64(), mask=~is_r),
    }
    return Pop(ac, ev)


def bench_nightly(rng: np.random.Generator, w: World, n: int = 5) -> Pop:
    """Nightly MATH/GSM8K/HumanEval runs through 5 accounts on one card from AWS, identical
    prompts every night at machine cadence, temperature 0, and a switch to the new model on
    release night: imitates CoT harvesting, lockstep fleets and the model-release pivot."""
    card = cards(rng, 1)[0]
    ac = accounts_block(
        rng,
        n,
        persona="benign_bench_nightly",
        tier="paid",
        created_us=created_before(rng, n, 120, 0.3),
        country="US",
        payment=card,
        source="gw-main",
    )
    ac["ua"] = _const(n, "python-httpx/0.27.0")
    ac["ja4"] = _const(n, ja4("py_ssl"))
    t = w.corpus.text
    suite = pa.concat_arrays([t["math"].slice(0, 500), t["gsm8k_test"], t["humaneval"]])
    sys_of = np.r_[np.zeros(500, int), np.full(len(t["gsm8k_test"]), 2), np.ones(len(t["humaneval"]), int)]
    S = len(suite)
    rows = []
    for night in range(DAYS):  # five nights x models: a handful of iterations, each vectorized
        t0 = START_US + night * DAY_US + HOUR_US + int(rng.integers(0, 600)) * US
        models = [MODEL_STD, MODEL_REASON] + ([MODEL_NEW] if t0 + DAY_US > RELEASE_US + 12 * HOUR_US else [])
        for k, model in enumerate(models):
            shard = np.arange(S) % n
            pos = np.arange(S) // n
            ts = t0 + k * 40 * 60 * US + (pos * 2.2 * US + rng.normal(0, 0.15, S) * US).astype(np.int64)
            rows.append((shard, ts, np.arange(S), np.full(S, model, dtype=object)))
    acct = np.concatenate([r[0] for r in rows])
    ts = np.concatenate([r[1] for r in rows])
    item = np.concatenate([r[2] for r in rows])
    model = np.concatenate([r[3] for r in rows])
    prompt = take_text(suite, item)
    system = take_text(pa.array(BENCH_SYSTEMS, pa.string()), sys_of[item])
    egress = w.pool_ips(rng, w.net.aws, 2 * n).reshape(n, 2)
    tok = w.tokens(rng, w.token_profile(rng, n, "reason"), acct, [prompt, system])
    is_r = model != MODEL_STD
    m = len(acct)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": system,
        "ip": egress[acct, rng.integers(0, 2, m)],
        "model": model,
        "in_tok": tok["in_tok"],
        "out_tok": tok["out_tok"] + np.where(is_r, tok["reason_tok"], 0),
        "reason_tok": pa.array(tok["reason_tok"], pa.int64(), mask=~is_r),
        "temperature": np.zeros(m),
        "stream": np.zeros(m, bool),
    }
    return Pop(ac, ev)


def saas_relay(rng: np.random.Generator, w: World, per_day: float = 7000.0) -> Pop:
    """A writing app relaying thousands of end users through one account with one system
    prompt: imitates a relay (mixed users, fixed system prompt, high volume)."""
    ac = accounts_block(
        rng,
        1,
        persona="benign_saas_relay",
        tier="paid",
        created_us=created_before(rng, 1, 400, 0.1),
        country="US",
        payment=cards(rng, 1),
        source="gw-main",
    )
    ac["ua"], ac["ja4"] = _const(1, "nimbus-node/4.2.1"), _const(1, ja4("node"))
    rates = w.corpus.stats["chat_rates"]
    acct, ts = servegen_replay(
        rng,
        rates=rates,
        client=np.array([rates["client_id"][0]]),
        per_day=np.array([per_day]),
        t0=np.array([START_US]),
    )
    m = len(acct)
    users = hex_ids(rng, 4000, 6, "qb_user_")
    u = np.minimum(rng.zipf(1.6, m) - 1, 3999)
    prompt = sample_text(rng, [w.corpus.text["sharegpt"], w.corpus.text["user_oriented"]], [0.85, 0.15], m)
    system = pa.array(np.full(m, SAAS_SYSTEM, dtype=object).tolist(), pa.string())
    tok = w.tokens(rng, w.token_profile(rng, 1, "chat"), acct, [prompt, system])
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": system,
        "end_user": users[u],
        "ip": w.pool_ips(rng, w.net.gcp, 3)[rng.integers(0, 3, m)],
        "model": pick(rng, [MODEL_STD, MODEL_MINI], m),
        "in_tok": tok["in_tok"],
        "out_tok": tok["out_tok"],
        "stream": np.ones(m, bool),
    }
    return Pop(ac, ev)


def agent_platform(rng: np.random.Generator, w: World, n: int = 8) -> Pop:
    """Agent loops with tools: 5-30 calls 1-3 s apart in one conversation, input growing each
    step, from cloud IPs: imitates agentic-trajectory harvesting and machine cadence."""
    ac = accounts_block(
        rng,
        n,
        persona="benign_agent_platform",
        tier=pick(rng, ["paid", "enterprise"], n, [0.6, 0.4]),
        created_us=created_before(rng, n, 150, 0.6),
        country="US",
        payment=cards(rng, n),
        source=source_mix(rng, n),
    )
    ac["ua"], ac["ja4"] = clients(rng, n, "sdk")
    l_acct, l_ts = diurnal_poisson(
        rng,
        per_day=np.exp(np.log(55) + 0.5 * rng.standard_normal(n)),
        t0=np.full(n, START_US),
        t1=np.full(n, END_US),
        tz_hours=np.full(n, -6.0),
        flat=0.5,
    )
    L = len(l_acct)
    steps = rng.integers(5, 31, size=L)
    loop = np.repeat(np.arange(L), steps)
    step = rank_in_segment(loop)
    gaps = rng.uniform(1.0, 3.0, len(loop))
    gaps[step == 0] = 0
    ts = l_ts[loop] + (seg_cumsum(gaps, loop) * US).astype(np.int64)
    task = rng.integers(len(w.corpus.text["tools"]), size=L)
    prompt = take_text(w.corpus.text["tools"], task[loop])
    acct = l_acct[loop]
    m = len(loop)
    tok = w.tokens(rng, w.token_profile(rng, n, "chat"), acct, [prompt])
    egress = w.pool_ips(rng, w.net.aws, 3 * n).reshape(n, 3)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": pa.array(np.full(m, AGENT_SYSTEM, dtype=object).tolist(), pa.string()),
        "tool_count": w.corpus.tool_count[task[loop]] + rng.integers(0, 4, L)[loop],
        "conv": hex_ids(rng, L, 8, "run_")[loop],
        "ip": egress[acct, rng.integers(0, 3, m)],
        "in_tok": tok["in_tok"] + step * rng.integers(150, 600, m),
        "out_tok": np.minimum(tok["out_tok"], 400),
        "model": pick(rng, [MODEL_STD, MODEL_MINI], n)[acct],
        "temperature": np.zeros(m),
    }
    return Pop(ac, ev)
