"""Hard negatives: legitimate customers that look like a campaign on one axis or more.

Each function's docstring says which attacker trait it imitates, so a false positive on it
points straight at the signal that over-trusts that trait.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from _h2_clients import clients, ja4
from _h2_clock import OFFICE_HOUR_WEIGHTS, diurnal_poisson, human_sessions, servegen_replay
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
    CONSULTANCY_TEMPLATES,
    MOOC_HEADER,
    MOOC_SUFFIX,
    RUBRIC_TEMPLATE_MID,
    RUBRIC_TEMPLATE_PRE,
    SAAS_SYSTEM,
    sample_text,
    wrap,
)
from _h2_world import World, created_before, tz_of

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
    ac = accounts_block(rng, n, persona="benign_mooc_cohort", tier="edu", created_us=enrol, country="US",
                        source=source_mix(rng, n))  # fmt: skip
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
        rng, day_lo=np.zeros(n, np.int64), day_hi=np.full(n, DAYS, np.int64), sess_per_day=np.full(n, 0.4),
        req_per_sess=np.full(n, 3.0), tz_hours=np.full(n, -5.0),
    )  # fmt: skip
    o_prompt = sample_text(rng, [w.corpus.text["sharegpt"], w.corpus.text["gsm8k_train"]], [0.7, 0.3], len(o_acct))
    acct = np.r_[a_acct, o_acct]
    ts = np.r_[a_ts, o_ts]
    prompt = pa.concat_arrays([a_prompt, o_prompt])
    on_campus = np.r_[np.ones(len(a_acct), bool), rng.random(len(o_acct)) < 0.6]
    home = w.home_ips(rng, _const(n, "US"), acct, ts)
    ip = pc.if_else(pa.array(on_campus), pa.array(nat[rng.integers(0, 3, len(acct))].tolist(), pa.string()), home)
    tok = w.tokens(rng, w.token_profile(rng, n, "reason"), acct, [prompt])
    model = pick(rng, [MODEL_REASON, MODEL_STD, MODEL_MINI], len(acct), [0.5, 0.3, 0.2])
    is_r = model == MODEL_REASON
    ev = {
        "acct": acct, "ts": ts, "prompt": prompt, "ip": ip, "model": model, "in_tok": tok["in_tok"],
        "out_tok": tok["out_tok"] + np.where(is_r, tok["reason_tok"], 0),
        "reason_tok": pa.array(tok["reason_tok"], pa.int64(), mask=~is_r),
    }  # fmt: skip
    return Pop(ac, ev)


def bench_nightly(rng: np.random.Generator, w: World, n: int = 5) -> Pop:
    """Nightly MATH/GSM8K/HumanEval runs through 5 accounts on one card from AWS, identical
    prompts every night at machine cadence, temperature 0, and a switch to the new model on
    release night: imitates CoT harvesting, lockstep fleets and the model-release pivot."""
    card = cards(rng, 1)[0]
    ac = accounts_block(rng, n, persona="benign_bench_nightly", tier="paid", created_us=created_before(rng, n, 120, 0.3),
                        country="US", payment=card, source="gw-main")  # fmt: skip
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
        "acct": acct, "ts": ts, "prompt": prompt, "system": system, "ip": egress[acct, rng.integers(0, 2, m)],
        "model": model, "in_tok": tok["in_tok"], "out_tok": tok["out_tok"] + np.where(is_r, tok["reason_tok"], 0),
        "reason_tok": pa.array(tok["reason_tok"], pa.int64(), mask=~is_r), "temperature": np.zeros(m),
        "stream": np.zeros(m, bool),
    }  # fmt: skip
    return Pop(ac, ev)


def saas_relay(rng: np.random.Generator, w: World) -> Pop:
    """A writing app relaying thousands of end users through one account with one system
    prompt: imitates a relay (mixed users, fixed system prompt, high volume)."""
    ac = accounts_block(rng, 1, persona="benign_saas_relay", tier="paid", created_us=created_before(rng, 1, 400, 0.1),
                        country="US", payment=cards(rng, 1), source="gw-main")  # fmt: skip
    ac["ua"], ac["ja4"] = _const(1, "nimbus-node/4.2.1"), _const(1, ja4("node"))
    rates = w.corpus.stats["chat_rates"]
    acct, ts = servegen_replay(rng, rates=rates, client=np.array([rates["client_id"][0]]), per_day=np.array([7000.0]),
                               t0=np.array([START_US]))  # fmt: skip
    m = len(acct)
    users = hex_ids(rng, 4000, 6, "qb_user_")
    u = np.minimum(rng.zipf(1.6, m) - 1, 3999)
    prompt = sample_text(rng, [w.corpus.text["sharegpt"], w.corpus.text["user_oriented"]], [0.85, 0.15], m)
    system = pa.array(np.full(m, SAAS_SYSTEM, dtype=object).tolist(), pa.string())
    tok = w.tokens(rng, w.token_profile(rng, 1, "chat"), acct, [prompt, system])
    ev = {
        "acct": acct, "ts": ts, "prompt": prompt, "system": system, "end_user": users[u],
        "ip": w.pool_ips(rng, w.net.gcp, 3)[rng.integers(0, 3, m)], "model": pick(rng, [MODEL_STD, MODEL_MINI], m),
        "in_tok": tok["in_tok"], "out_tok": tok["out_tok"], "stream": np.ones(m, bool),
    }  # fmt: skip
    return Pop(ac, ev)


def agent_platform(rng: np.random.Generator, w: World, n: int = 8) -> Pop:
    """Agent loops with tools: 5-30 calls 1-3 s apart in one conversation, input growing each
    step, from cloud IPs: imitates agentic-trajectory harvesting and machine cadence."""
    ac = accounts_block(rng, n, persona="benign_agent_platform", tier=pick(rng, ["paid", "enterprise"], n, [0.6, 0.4]),
                        created_us=created_before(rng, n, 150, 0.6), country="US", payment=cards(rng, n),
                        source=source_mix(rng, n))  # fmt: skip
    ac["ua"], ac["ja4"] = clients(rng, n, "sdk")
    l_acct, l_ts = diurnal_poisson(rng, per_day=np.exp(np.log(55) + 0.5 * rng.standard_normal(n)),
                                   t0=np.full(n, START_US), t1=np.full(n, END_US), tz_hours=np.full(n, -6.0),
                                   flat=0.5)  # fmt: skip
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
        "acct": acct, "ts": ts, "prompt": prompt, "system": pa.array(np.full(m, AGENT_SYSTEM, dtype=object).tolist(), pa.string()),
        "tool_count": w.corpus.tool_count[task[loop]] + rng.integers(0, 4, L)[loop],
        "conv": hex_ids(rng, L, 8, "run_")[loop], "ip": egress[acct, rng.integers(0, 3, m)],
        "in_tok": tok["in_tok"] + step * rng.integers(150, 600, m), "out_tok": np.minimum(tok["out_tok"], 400),
        "model": pick(rng, [MODEL_STD, MODEL_MINI], n)[acct], "temperature": np.zeros(m),
    }  # fmt: skip
    return Pop(ac, ev)


def consultancy(rng: np.random.Generator, w: World, n: int = 30) -> Pop:
    """30 consultants on one company card behind one office IP using a shared prompt library:
    imitates shared payment, shared infra and template reuse."""
    onboard = START_US - 90 * DAY_US + (rng.random(n) * 3 * HOUR_US).astype(np.int64)
    ac = accounts_block(rng, n, persona="benign_consultancy", tier="paid", created_us=onboard, country="DE",
                        payment=cards(rng, 1)[0], source="gw-main")  # fmt: skip
    ac["ua"], ac["ja4"] = clients(rng, n, "browser")
    acct, ts, sess = human_sessions(
        rng, day_lo=np.zeros(n, np.int64), day_hi=np.full(n, DAYS, np.int64), sess_per_day=np.full(n, 3.0),
        req_per_sess=np.full(n, 3.0), tz_hours=np.full(n, 1.0), weights=OFFICE_HOUR_WEIGHTS,
    )  # fmt: skip
    m = len(acct)
    body = sample_text(rng, [w.corpus.text["sharegpt"], w.corpus.text["user_oriented"]], [0.6, 0.4], m)
    prompt, _ = wrap(rng, body, CONSULTANCY_TEMPLATES)
    office = w.pool_ips(rng, w.net.residential, 1)[0]
    tok = w.tokens(rng, w.token_profile(rng, n, "chat"), acct, [prompt])
    ev = {
        "acct": acct, "ts": ts, "prompt": prompt, "ip": _const(m, office), "model": _const(m, MODEL_STD),
        "in_tok": tok["in_tok"], "out_tok": tok["out_tok"], "conv": hex_ids(rng, int(sess.max()) + 1, 8, "conv_")[sess],
    }  # fmt: skip
    return Pop(ac, ev)


def mobile_cgnat(rng: np.random.Generator, w: World, n: int = 500) -> Pop:
    """Phone users behind carrier CGNAT: a few dozen egress IPs (and RFC 6598 space seen via a
    carrier partner gateway) shared by hundreds of unrelated people: imitates shared infra."""
    country = pick(rng, ["US", "IN", "ID", "PH"], n, [0.5, 0.25, 0.15, 0.1])
    ac = accounts_block(rng, n, persona="benign_mobile_cgnat", tier=pick(rng, ["free", "paid"], n, [0.8, 0.2]),
                        created_us=created_before(rng, n, 150), country=country, source=source_mix(rng, n))  # fmt: skip
    ac["payment"] = np.where(ac["tier"] == "paid", cards(rng, n), None)
    ac["ua"], ac["ja4"] = clients(rng, n, "mobile")
    acct, ts, sess = human_sessions(
        rng, day_lo=np.zeros(n, np.int64), day_hi=np.full(n, DAYS, np.int64), sess_per_day=np.full(n, 1.6),
        req_per_sess=np.full(n, 2.5), tz_hours=tz_of(country), gap_median_s=25,
    )  # fmt: skip
    m = len(acct)
    egress = w.pool_ips(rng, w.net.mobile, 40)
    cg = w.pool_ips(rng, w.net.cgnat, 200)
    kind = rng.random(m)
    ip = np.where(kind < 0.2, cg[rng.integers(0, 200, m)], egress[rng.integers(0, 40, m)]).astype(object)
    v6 = w.mobile_ips(rng, m)
    ip = pc.if_else(pa.array(kind > 0.72), v6, pa.array(ip.tolist(), pa.string()))
    prompt = sample_text(rng, [w.corpus.text["sharegpt"], w.corpus.text["simpleqa"], w.corpus.text["actas"]],
                         [0.6, 0.3, 0.1], m)  # fmt: skip
    tok = w.tokens(rng, w.token_profile(rng, n, "chat"), acct, [prompt])
    ev = {"acct": acct, "ts": ts, "prompt": prompt, "ip": ip, "model": pick(rng, [MODEL_MINI, MODEL_STD], m, [0.7, 0.3]),
          "in_tok": tok["in_tok"], "out_tok": tok["out_tok"], "conv": hex_ids(rng, int(sess.max()) + 1, 8, "conv_")[sess],
          "has_image": rng.random(m) < 0.08, "stream": np.ones(m, bool)}  # fmt: skip
    return Pop(ac, ev)


def privacy_relay(rng: np.random.Generator, w: World, n: int = 300) -> Pop:
    """iCloud Private Relay and Cloudflare WARP users: egress rotates per session inside
    provider-owned ranges shared with many strangers: imitates proxy rotation."""
    country = w.countries(rng, n)
    apple = rng.random(n) < 0.6
    ac = accounts_block(rng, n, persona="benign_privacy_relay", tier=pick(rng, ["free", "paid"], n, [0.6, 0.4]),
                        created_us=created_before(rng, n, 250), country=country, source=source_mix(rng, n))  # fmt: skip
    ac["payment"] = np.where(ac["tier"] == "paid", cards(rng, n), None)
    ua_b, fp_b = clients(rng, n, "browser")
    ac["ua"] = np.where(apple, "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                        "Version/17.4 Safari/605.1.15", ua_b).astype(object)  # fmt: skip
    ac["ja4"] = np.where(apple, ja4("safari"), fp_b).astype(object)
    acct, ts, sess = human_sessions(
        rng, day_lo=np.zeros(n, np.int64), day_hi=np.full(n, DAYS, np.int64), sess_per_day=np.full(n, 1.0),
        req_per_sess=np.full(n, 3.5), tz_hours=tz_of(country),
    )  # fmt: skip
    m = len(acct)
    from _h2_net import WARP_V6, fmt_v6, v6_hextets

    apple4 = w.pool_ips(rng, w.net.apple, 150)
    warp4 = w.pool_ips(rng, w.net.warp, 150)
    s_pick = rng.integers(0, 150, int(sess.max()) + 1)
    v4 = np.where(apple[acct], apple4[s_pick[sess]], warp4[s_pick[sess]]).astype(object)
    a6 = fmt_v6(v6_hextets(rng, w.net.apple_v6, m))
    c6 = fmt_v6(v6_hextets(rng, WARP_V6, m))
    v6 = pc.if_else(pa.array(apple[acct]), a6, c6)
    ip = pc.if_else(pa.array((rng.random(int(sess.max()) + 1) < 0.4)[sess]), v6, pa.array(v4.tolist(), pa.string()))
    prompt = sample_text(rng, [w.corpus.text["sharegpt"], w.corpus.text["arena"]], [0.8, 0.2], m)
    tok = w.tokens(rng, w.token_profile(rng, n, "chat"), acct, [prompt])
    ev = {"acct": acct, "ts": ts, "prompt": prompt, "ip": ip, "model": pick(rng, [MODEL_MINI, MODEL_STD], m),
          "in_tok": tok["in_tok"], "out_tok": tok["out_tok"], "conv": hex_ids(rng, int(sess.max()) + 1, 8, "conv_")[sess]}  # fmt: skip
    return Pop(ac, ev)


def rubric_vendor(rng: np.random.Generator, w: World) -> Pop:
    """A data-labelling vendor using the model as a rubric grader, one enterprise account,
    batch jobs at a steady rate: imitates 'model as reward model' harvesting."""
    ac = accounts_block(rng, 1, persona="benign_rubric_vendor", tier="enterprise",
                        created_us=created_before(rng, 1, 500, 0.1), country="PH", source="gw-main")  # fmt: skip
    ac["ua"], ac["ja4"] = _const(1, "python-requests/2.32.3"), _const(1, ja4("py_ssl"))
    rows = []
    for d in range(DAYS):  # one batch job per working shift
        t0 = START_US + d * DAY_US + int((1.0 + rng.random()) * HOUR_US)  # 09:00-10:00 Manila
        k = int(rng.integers(4500, 6500))
        rows.append(t0 + (np.arange(k) * 4.8 * US + rng.normal(0, 0.8, k) * US).astype(np.int64))
    ts = np.concatenate(rows)
    m = len(ts)
    acct = np.zeros(m, np.int64)
    inst = sample_text(rng, [w.corpus.text["alpaca_tasks"], w.corpus.text["user_oriented"]], [0.8, 0.2], m)
    resp = sample_text(rng, [w.corpus.text["sharegpt"]], [1.0], m)
    prompt = pc.binary_join_element_wise(pa.scalar(RUBRIC_TEMPLATE_PRE), inst, pa.scalar(RUBRIC_TEMPLATE_MID),
                                         pc.utf8_slice_codeunits(resp, 0, 800), "")  # fmt: skip
    tok = w.tokens(rng, w.token_profile(rng, 1, "chat"), acct, [prompt])
    keys = hex_ids(rng, 6, 6, "key_")
    ev = {"acct": acct, "ts": ts, "prompt": prompt, "ip": w.pool_ips(rng, w.net.azure, 2)[rng.integers(0, 2, m)],
          "model": _const(m, MODEL_STD), "in_tok": tok["in_tok"], "out_tok": np.minimum(tok["out_tok"], 90) + 20,
          "temperature": np.zeros(m), "api_key": keys[rng.integers(0, 6, m)], "stream": np.zeros(m, bool)}  # fmt: skip
    return Pop(ac, ev)


def hard_negatives(rng: np.random.Generator, w: World, scale: float) -> list[Pop]:
    def k(x: int) -> int:
        return max(3, int(round(x * scale)))

    return [
        mooc(rng, w, k(400)),
        bench_nightly(rng, w, 5),
        saas_relay(rng, w),
        agent_platform(rng, w, k(8)),
        consultancy(rng, w, 30),
        mobile_cgnat(rng, w, k(500)),
        privacy_relay(rng, w, k(300)),
        rubric_vendor(rng, w),
    ]
