"""Hard negatives: legitimate customers that share the surface features of a campaign.

Each is its own persona, sized (where the concept allows) so that one false positive in
it is a visible per-persona FPR. See README.md for the real-world pattern behind each.
"""

from __future__ import annotations

import numpy as np
from _h3_core import (
    ALL_MODELS,
    DAY_US,
    DAYS,
    END_US,
    HOUR_US,
    M_MAIN,
    M_NEW,
    MIN_US,
    RELEASE_US,
    START_US,
    US,
    Block,
    accounts,
    counts,
    created_between,
    expand,
    hexes,
    human_times,
    join,
    local_offset_us,
    periodic_times,
    pick,
    tokens_of,
)
from _h3_text import AGENT_FRAME_CLIENT, AGENT_FRAMES, COT_SUFFIXES, chat, conv_ids, cot_output
from _h3_world import World, sample_ips


def university_course(rng: np.random.Generator, w: World, n: int) -> Block:
    """One course, ``n`` students: accounts created in the first week of term on the edu
    path, one campus NAT (a handful of addresses of a real university AS), the same
    assignment prompts pasted verbatim, requests packed into the Tue/Thu lab slot and the
    Sunday-night deadline."""
    ac = accounts(
        "benign_university_course",
        n,
        attack=False,
        created_us=created_between(rng, n, 40, 47),
        tier="edu",
        country="US",
        payment=None,
        source="full",
        client=np.array(["chrome", "py_openai", "safari"], dtype=object)[
            rng.choice(3, size=n, p=[0.5, 0.35, 0.15])
        ],
    )
    card = rng.random(n) < 0.15
    ac["payment"][card] = hexes(rng, int(card.sum()), "pm_", 16)
    acct, rank = expand(counts(rng, n, 32, shape=2.0, lo=4, hi=150))
    m = len(acct)
    # Lab slots Tue/Thu 14:00-15:30 US Eastern (UTC-4 in April); deadline Sun 19:00-24:00.
    slot = rng.choice(3, size=m, p=[0.33, 0.33, 0.34])
    day = np.array([1, 3, 6])[slot]
    dur = np.array([90, 90, 300])[slot] * MIN_US
    start_local = np.array([14, 14, 19])[slot] * HOUR_US
    ts = START_US + day * DAY_US + start_local + 4 * HOUR_US + (rng.beta(2, 2, size=m) * dur).astype(np.int64)
    other = rng.random(m) < 0.25  # some studying at other times, from home
    ts[other] = human_times(rng, acct[other], rank[other], np.full(n, -4 * HOUR_US), session_len=4)
    assignments = np.concatenate(
        [w.prompts["mbpp"][:10], w.prompts["gsm8k_test"][:6], w.prompts["humaneval"][:6]]
    )
    prompt = pick(rng, assignments, m)
    own = rng.random(m) < 0.3
    prompt[own], tin_o, tout_o = chat(rng, w, int(own.sum()))
    tin = tokens_of(prompt)
    tin[own] = tin_o
    tout = (350 * np.exp(0.5 * rng.standard_normal(m))).astype(np.int64) + 20
    tout[own] = tout_o
    nat = sample_ips(rng, w.cidrs["campus"], 4, n_prefixes=1)
    home = sample_ips(rng, w.cidrs["residential"], n, n_prefixes=800)  # one home line per student
    ip = np.where(other & (rng.random(m) < 0.8), home[acct], pick(rng, nat, m))
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "in_tok": tin,
        "out_tok": tout,
        "ip": ip,
        "conv": conv_ids(rng, acct, rank, 3),
        "model": np.where(rng.random(m) < 0.7, M_MAIN, "orion-2-mini"),
    }
    return Block(ac, ev)


def enterprise_batch(rng: np.random.Generator, w: World, n: int) -> Block:
    """One enterprise, ``n`` team accounts on one corporate card, enterprise tier, opened
    over three weeks; every night a rate-limited batch evaluation of their own pipelines
    with CoT-style prompts runs from a few NAT addresses in AWS us-east-1."""
    team = rng.integers(0, 14, size=n)
    ac = accounts(
        "benign_enterprise_batch",
        n,
        attack=False,
        created_us=created_between(rng, n, 70, 91),
        tier="enterprise",
        country="US",
        payment=hexes(rng, 1, "pm_", 16)[0],
        source=np.where(rng.random(n) < 0.3, "nocontent", "full"),
        client=np.where(team % 3 == 0, "httpx", "py_openai"),
    )
    per_night = rng.integers(15, 60, size=n)
    nights = (rng.random((n, DAYS)) < 0.85).sum(1)
    acct, rank = expand(per_night * nights)
    m = len(acct)
    night = rank // per_night[acct]
    within = rank % per_night[acct]
    # Nightly job: 02:00 US Eastern (06:00 UTC) + team offset, requests ~8 s apart (rate limit).
    start = START_US + night * DAY_US + 6 * HOUR_US + (team[acct] * 7) * MIN_US
    ts = start + within * 8 * US + rng.integers(0, 3 * US, size=m)
    tasks = np.concatenate(
        [w.prompts["gsm8k_train"][:2000], w.prompts["bbh"], w.prompts["libre_instr"][:1000]]
    )
    team_task = rng.integers(0, len(tasks) - 400, size=14)
    prompt = join(tasks[team_task[team[acct]] + rng.integers(0, 400, size=m)], COT_SUFFIXES[team[acct] % 3])
    system = np.array(
        [
            f"You are the {d} assistant at Northwind Financial. Follow the compliance style guide."
            for d in ("claims", "underwriting", "support", "legal", "risk", "audit", "hr")
        ],
        dtype=object,
    )[team[acct] % 7]
    ip = pick(rng, sample_ips(rng, w.cidrs["aws_us_east_1"], 6, n_prefixes=2), m)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": system,
        "in_tok": tokens_of(prompt) + 40,
        "out_tok": cot_output(rng, m, 420),
        "ip": ip,
        "temperature": np.zeros(m),
        "stream": np.zeros(m, bool),
        "model": np.where(team[acct] % 4 == 0, "orion-2-mini", M_MAIN),
    }
    return Block(ac, ev)


def eval_harness(rng: np.random.Generator, w: World, n_orgs: int) -> Block:
    """Evaluation companies, leaderboards and academic labs: a few accounts per org on the
    org card, sweeping the same public benchmarks across every model, temperature 0; a
    baseline sweep early in the week and a burst within ~30 h of the new model's release."""
    per = rng.integers(4, 14, size=n_orgs)
    org = np.repeat(np.arange(n_orgs), per)
    n = len(org)
    ac = accounts(
        "benign_eval_harness",
        n,
        attack=False,
        created_us=created_between(rng, n_orgs, 30, 700)[org] + rng.integers(0, 20 * DAY_US, size=n),
        tier=np.array(["research", "startup", "paid", "enterprise"], dtype=object)[
            rng.integers(0, 4, size=n_orgs)
        ][org],
        country=np.array(["US", "GB", "DE", "CN", "FR", "IL", "CA"], dtype=object)[
            rng.integers(0, 7, size=n_orgs)
        ][org],
        payment=hexes(rng, n_orgs, "pm_", 16)[org],
        source="full",
        client=np.array(["inspect", "lm_eval", "py_openai", "httpx"], dtype=object)[
            rng.integers(0, 4, size=n_orgs)
        ][org],
    )
    acct, _rank = expand(counts(rng, n, 160, shape=1.5, lo=20, hi=1200))
    m = len(acct)
    bench = np.array(
        ["gsm8k_test", "bbh", "humaneval", "mbpp", "simpleqa", "mt_bench", "arena", "comp_math"], dtype=object
    )
    which = rng.integers(0, len(bench), size=m)
    prompt = np.empty(m, dtype=object)
    for j, b in enumerate(bench):
        sel = np.flatnonzero(which == j)
        prompt[sel] = pick(rng, w.prompts[b][:300], len(sel))  # everyone runs the same public items
    burst = rng.random(m) < 0.7
    ts = np.where(
        burst,
        RELEASE_US + (rng.gamma(1.5, 7, size=m) * HOUR_US).astype(np.int64),
        START_US + (rng.uniform(0, 1.5, size=m) * DAY_US).astype(np.int64),
    )
    ts = ts + (org[acct] * 11 * MIN_US) % (6 * HOUR_US)
    model = np.where(burst & (rng.random(m) < 0.6), M_NEW, pick(rng, ALL_MODELS[:4], m))
    ips = sample_ips(rng, w.cidrs["gcp"], n_orgs * 3, n_prefixes=200).reshape(n_orgs, 3)
    ip = ips[org[acct], rng.integers(0, 3, size=m)]
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "in_tok": tokens_of(prompt) + 30,
        "out_tok": cot_output(rng, m, 380),
        "ip": ip,
        "temperature": np.zeros(m),
        "stream": np.zeros(m, bool),
        "model": model,
        "logprobs": rng.random(m) < 0.1,
    }
    return Block(ac, ev)


def agent_framework(rng: np.random.Generator, w: World, n: int) -> Block:
    """Users of popular agent frameworks: the framework's verbatim system frame, tools on
    every request, real BFCL tool-use queries; a quarter run 24/7 cron agents from a cloud
    box (same job every 10-120 minutes), the rest interactively from home."""
    frame = rng.integers(0, len(AGENT_FRAMES), size=n)
    cron = rng.random(n) < 0.25
    ac = accounts(
        "benign_agent_framework",
        n,
        attack=False,
        created_us=created_between(rng, n, 3, 600),
        tier=np.where(rng.random(n) < 0.7, "paid", "startup"),
        country=pick(rng, np.array(["US", "DE", "IN", "GB", "BR", "JP", "FR"], dtype=object), n),
        payment=hexes(rng, n, "pm_", 16),
        source=np.where(rng.random(n) < 0.8, "full", "legacy"),
        client=AGENT_FRAME_CLIENT[frame],
    )
    period = pick(rng, np.array([10, 15, 30, 60, 120]) * MIN_US, n)
    n_per = np.where(
        cron, np.minimum((END_US - START_US) // period, 2000), counts(rng, n, 70, shape=0.7, hi=900)
    )
    acct, rank = expand(n_per.astype(np.int64))
    m = len(acct)
    tz = local_offset_us(ac["country"])
    ts = human_times(rng, acct, rank, tz, session_len=8, think_median_s=6)
    c = cron[acct]
    ts[c] = periodic_times(
        rng, acct[c], rank[c], period, 20 * US, START_US + rng.integers(0, HOUR_US, size=n)
    )
    job = pick(rng, w.prompts["bfcl"], n)
    prompt = np.where(c & (rng.random(m) < 0.8), job[acct], pick(rng, w.prompts["bfcl"], m))
    tools = rng.integers(2, 16, size=n)[acct]
    ip_home = sample_ips(rng, w.cidrs["residential"], n, n_prefixes=2000)[acct]
    ip_cloud = sample_ips(rng, w.cidrs["aws_ec2"] + w.cidrs["hosting"], n, n_prefixes=2000)[acct]
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": AGENT_FRAMES[frame][acct],
        "in_tok": tokens_of(prompt) + 400 + tools * 120,
        "out_tok": (90 * np.exp(0.6 * rng.standard_normal(m))).astype(np.int64) + 10,
        "tool_count": tools,
        "ip": np.where(c, ip_cloud, ip_home),
        "conv": conv_ids(rng, acct, rank, 5),
        "model": np.where(rng.random(m) < 0.6, M_MAIN, "orion-2-mini"),
        "stream": np.zeros(m, bool),
    }
    return Block(ac, ev)


#: Rubric headers a labelling vendor's tooling wraps around the item to be graded.
RUBRIC = np.array(
    [
        "You are an expert grader. Score the RESPONSE to the QUESTION from 1 to 5 on correctness, "
        "reasoning quality "
        'and clarity. Justify each score step by step, then output JSON {"score": n}.\n\nQUESTION:\n',
        "Rate the following answer using the rubric: 5 = fully correct with clear reasoning, 3 = partially "
        "correct, "
        "1 = wrong. Explain your rating.\n\nPrompt:\n",
        "Evaluate the model response below for helpfulness, honesty and harmlessness (1-7 Likert each) and "
        "write a "
        "short rationale.\n\nUser request:\n",
    ],
    dtype=object,
)


def labelling_vendors(rng: np.random.Generator, w: World, n_vendors: int) -> Block:
    """Data-labelling vendors (RLHF / eval contractors): per vendor one card and one office
    egress, annotator accounts working local business hours at human pace, each request a
    rubric-graded judgement of a real question + real response pair."""
    per = rng.integers(24, 44, size=n_vendors)
    vend = np.repeat(np.arange(n_vendors), per)
    n = len(vend)
    vc = pick(rng, np.array(["PH", "KE", "IN", "US", "PL"], dtype=object), n_vendors)
    ac = accounts(
        "benign_labelling_vendor",
        n,
        attack=False,
        created_us=created_between(rng, n_vendors, 40, 500)[vend] + rng.integers(0, 60 * DAY_US, size=n),
        tier="enterprise",
        country=vc[vend],
        payment=hexes(rng, n_vendors, "pm_", 16)[vend],
        source=np.where(rng.random(n_vendors) < 0.7, "full", "nocontent")[vend],
        client="chrome",
    )
    acct, rank = expand(counts(rng, n, 60, shape=2.0, lo=10, hi=300))
    m = len(acct)
    ts = human_times(
        rng,
        acct,
        rank,
        local_offset_us(ac["country"]),
        session_len=20,
        think_median_s=150,
        hours=np.r_[np.zeros(8), np.ones(10) * 5, np.zeros(6)] + 0.05,
    )
    q = rng.integers(0, len(w.prompts["gsm8k_test"]), size=m)
    lib = rng.integers(0, len(w.prompts["libre_instr"]), size=m)
    use_gsm = rng.random(m) < 0.5
    question = np.where(use_gsm, w.prompts["gsm8k_test"][q], w.prompts["libre_instr"][lib])
    response = np.where(use_gsm, w.prompts["gsm8k_answer"][q], w.prompts["libre_output"][lib])
    prompt = join(RUBRIC[vend[acct] % 3], question, "\n\nRESPONSE:\n", response)
    egress = np.where(vc == "US", "zscaler", "residential")
    ip = np.empty(m, dtype=object)
    for v in range(n_vendors):
        sel = np.flatnonzero(vend[acct] == v)
        ip[sel] = pick(rng, sample_ips(rng, w.cidrs[egress[v]], 3, n_prefixes=1), len(sel))
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "in_tok": tokens_of(prompt),
        "out_tok": cot_output(rng, m, 260),
        "ip": ip,
        "temperature": np.zeros(m),
        "model": np.where(rng.random(m) < 0.8, M_MAIN, "orion-r1"),
    }
    return Block(ac, ev)
