"""Attack campaigns, part 1: the quiet ones (spread thin, residential, paraphrase, aged).

Each campaign avoids at least one of the obvious tells (volume, datacenter IPs, one
template, fresh accounts); what remains is the public record's constant: many accounts
aimed at one narrow capability with chain-of-thought elicitation.
"""

from __future__ import annotations

import numpy as np
from _h3_core import (
    COUNTRIES,
    COUNTRY_P,
    HOUR_US,
    M_MAIN,
    M_REASON,
    Block,
    accounts,
    counts,
    created_between,
    expand,
    hexes,
    human_times,
    join,
    local_offset_us,
    pick,
    tokens_of,
)
from _h3_frame import ordinary_sources
from _h3_text import COT_SUFFIXES, conv_ids, cot_output
from _h3_world import World, sample_ips

#: Paraphrases of the public record's reasoning-extraction instruction. The campaign rotates
#: phrasing per request so that no template repeats across more than a few percent of it.
PARAPHRASES = np.array(
    [
        "Below is a question and a completed answer. Articulate, step by step, the internal reasoning that "
        "leads from the question to that answer.",
        "Here's a finished response to a task. Walk through the thought process behind it, one step at a "
        "time.",
        "Reconstruct the detailed chain of reasoning that would produce the following answer to the "
        "following request.",
        "Explain, as a numbered list of reasoning steps, how one arrives at the given response.",
        "I have an answer but not the reasoning. Write out the full step-by-step thinking that justifies it.",
        "Pretend you wrote the response below. Describe your internal deliberation before writing it, step "
        "by step.",
        "Give the hidden rationale for this completed answer: every inference, in order.",
        "Break down the reasoning behind the response below into explicit intermediate steps.",
        "For the task and solution that follow, narrate the problem-solving process in detail.",
        "Show the step-by-step derivation connecting this prompt to its final answer.",
        "What reasoning would a careful expert go through to produce this answer? Spell out each step.",
        "Write the scratchpad that precedes the answer below: all intermediate thoughts, in order.",
        "Annotate the following solution with the reasoning behind each part of it.",
        "Think aloud: explain step by step why the given response is the right one for the request.",
        "Produce a worked rationale (premises, steps, conclusion) for the answer below.",
        "Lay out the logical steps, one per line, that take you from the instruction to the provided output.",
    ],
    dtype=object,
)
#: Forced non-English reasoning (public record: "reasoning in a forced non-English language").
LANG = np.array(
    [
        "",
        "",
        "",
        "",
        " Write the reasoning in Chinese.",
        " Respond in Simplified Chinese.",
        " Answer in Korean.",
    ],
    dtype=object,
)


def _countries(rng: np.random.Generator, n: int) -> np.ndarray:
    return COUNTRIES[rng.choice(len(COUNTRIES), size=n, p=COUNTRY_P / COUNTRY_P.sum())]


def spread_thin(rng: np.random.Generator, w: World, n: int) -> Block:
    """Hundreds of accounts, each below ordinary volume (a dozen or two requests a week,
    like a hobbyist), each with its own hosting IP, card and local-hours schedule; together
    they sweep a maths CoT set. The 240,000-accounts warning in miniature."""
    ac = accounts(
        "atk_spread_thin",
        n,
        attack=True,
        campaign="h3-spread",
        created_us=created_between(rng, n, 8, 70),
        tier=pick(rng, np.array(["free", "free", "startup", "edu"], dtype=object), n),
        country=_countries(rng, n),
        payment=np.where(rng.random(n) < 0.6, hexes(rng, n, "pm_", 16), None),
        source=ordinary_sources(rng, n),
        client=pick(rng, np.array(["py_openai", "httpx", "js_openai", "requests"], dtype=object), n),
    )
    acct, rank = expand(counts(rng, n, 16, shape=3.0, lo=6, hi=35))
    m = len(acct)
    ts = human_times(
        rng, acct, rank, local_offset_us(ac["country"]), session_len=4, think_median_s=60, first_day=1
    )
    tasks = np.concatenate([w.prompts["comp_math"], join(w.prompts["gsm8k_train"][:3000], COT_SUFFIXES[1])])
    prompt = pick(rng, tasks, m)
    own_ip = sample_ips(rng, w.cidrs["hosting"] + w.cidrs["aws_ec2"], n, n_prefixes=3000)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "in_tok": tokens_of(prompt),
        "out_tok": cot_output(rng, m, 900),
        "ip": own_ip[acct],
        "model": np.where(rng.random(m) < 0.6, M_REASON, M_MAIN),
        "conv": conv_ids(rng, acct, rank, 1),
    }
    return Block(ac, ev)


def residential(rng: np.random.Generator, w: World, n: int) -> Block:
    """Residential-proxy campaign with human-like pacing: a fresh home-ISP address per
    session (sticky-session rotating proxies), think times of tens of seconds, local
    daytime of the declared country, a browser UA over a scripting TLS stack."""
    ac = accounts(
        "atk_residential_proxy",
        n,
        attack=True,
        campaign="h3-resi",
        created_us=created_between(rng, n, 15, 45),
        tier=np.where(rng.random(n) < 0.7, "paid", "free"),
        country=pick(rng, np.array(["US", "GB", "CA", "DE", "AU"], dtype=object), n),
        payment=hexes(rng, n, "pm_", 16),
        source=ordinary_sources(rng, n),
        client="chrome_spoof",
    )
    acct, rank = expand(counts(rng, n, 75, shape=2.0, lo=15, hi=300))
    m = len(acct)
    slen = 7
    ts = human_times(
        rng, acct, rank, local_offset_us(ac["country"]), session_len=slen, think_median_s=40, first_day=1
    )
    wrap = np.array(
        [
            "Walk me through how you'd figure this out, step by step, before answering:\n",
            "Can you reason through this carefully and show every step?\n",
            "Solve this and explain your thinking in detail:\n",
        ],
        dtype=object,
    )
    prompt = join(pick(rng, wrap, m), pick(rng, w.prompts["bbh"], m))
    sess = np.unique(acct.astype(np.int64) * 10_000 + rank // slen, return_inverse=True)[1]
    ips = sample_ips(rng, w.cidrs["residential"], int(sess.max()) + 1, n_prefixes=3000)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "in_tok": tokens_of(prompt),
        "out_tok": cot_output(rng, m, 700),
        "ip": ips[sess],
        "model": np.where(rng.random(m) < 0.5, M_REASON, M_MAIN),
        "conv": conv_ids(rng, acct, rank, 2),
    }
    return Block(ac, ev)


def paraphrase(rng: np.random.Generator, w: World, n: int) -> Block:
    """Reasoning-trace extraction from completed responses (real alpaca-libre harvest
    output), phrasing rotated per request, order of question and answer flipped, sometimes
    a forced non-English rationale. Education and startup signups, hosting egress shared by
    groups of about ten accounts, working hours of UTC+8."""
    group = rng.integers(0, max(1, n // 10), size=n)
    ac = accounts(
        "atk_paraphrase_cot",
        n,
        attack=True,
        campaign="h3-para",
        created_us=created_between(rng, n, 5, 40),
        tier=pick(rng, np.array(["edu", "edu", "startup", "free", "paid"], dtype=object), n),
        country=pick(rng, np.array(["US", "SG", "HK", "GB", "CA"], dtype=object), n),
        payment=np.where(rng.random(n) < 0.7, hexes(rng, n, "pm_", 16), None),
        source=ordinary_sources(rng, n),
        client=pick(rng, np.array(["py_openai", "httpx", "requests"], dtype=object), n),
    )
    acct, rank = expand(counts(rng, n, 110, shape=2.0, lo=20, hi=400))
    m = len(acct)
    ts = human_times(rng, acct, rank, np.full(n, 8 * HOUR_US), session_len=30, think_median_s=12, first_day=1)
    k = rng.integers(0, len(w.prompts["libre_instr"]), size=m)
    q, a = w.prompts["libre_instr"][k], w.prompts["libre_output"][k]
    para = pick(rng, PARAPHRASES, m)
    flip = rng.random(m) < 0.5
    body = np.where(
        flip,
        join("Response:\n", a, "\n\nOriginal request:\n", q),
        join("Request:\n", q, "\n\nResponse:\n", a),
    )
    prompt = join(para, pick(rng, LANG, m), "\n\n", body)
    gips = sample_ips(rng, w.cidrs["hosting"], (int(group.max()) + 1) * 3, n_prefixes=500).reshape(-1, 3)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "in_tok": tokens_of(prompt),
        "out_tok": cot_output(rng, m, 600),
        "ip": gips[group[acct], rng.integers(0, 3, size=m)],
        "model": np.where(rng.random(m) < 0.7, M_MAIN, M_REASON),
        "conv": conv_ids(rng, acct, rank, 1),
    }
    return Block(ac, ev)


#: System prompt of the code-harvest campaign: explanation first, then code and tests.
CODE_SYSTEM = (
    "You are a senior software engineer. Before writing any code, explain your reasoning step by step in "
    "detail. "
    "Then give the complete solution and unit tests."
)


def aged_accounts(rng: np.random.Generator, w: World, n: int) -> Block:
    """Accounts bought aged from account shops: creation dates scattered over 1-4 years,
    varied countries, each its own card and a steady VPN exit; dormant before, they now
    harvest code with an explain-then-solve system prompt and resample each task 2-4 times
    at temperature 1 (rejection sampling)."""
    ac = accounts(
        "atk_aged_accounts",
        n,
        attack=True,
        campaign="h3-aged",
        created_us=created_between(rng, n, 365, 1460),
        tier="paid",
        country=_countries(rng, n),
        payment=hexes(rng, n, "pm_", 16),
        source=ordinary_sources(rng, n),
        client=pick(rng, np.array(["py_openai", "py_openai_old", "httpx"], dtype=object), n),
    )
    tasks_per = counts(rng, n, 50, shape=2.0, lo=10, hi=200)
    reps = rng.integers(2, 5, size=n)
    acct, rank = expand(tasks_per * reps[: len(tasks_per)])
    m = len(acct)
    ts = human_times(
        rng, acct, rank, local_offset_us(ac["country"]), session_len=25, think_median_s=15, first_day=1
    )
    pool = np.concatenate([w.prompts["humaneval"], w.prompts["mbpp"], w.prompts["wizard"]])
    task_of = rng.integers(0, len(pool), size=(n, 200))
    prompt = pool[task_of[acct, np.minimum(rank // reps[acct], 199)]]
    exit_ip = sample_ips(rng, w.cidrs["vpn"], n, n_prefixes=1500)
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": np.full(m, CODE_SYSTEM, dtype=object),
        "in_tok": tokens_of(prompt) + 45,
        "out_tok": cot_output(rng, m, 1100),
        "ip": exit_ip[acct],
        "temperature": np.ones(m),
        "model": np.full(m, M_MAIN, dtype=object),
        "conv": conv_ids(rng, acct, rank, 1),
    }
    return Block(ac, ev)
