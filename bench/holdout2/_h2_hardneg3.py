"""Hard negatives, part 3: the user base of a popular open-source coding agent.

An open-source agent ships one built-in system prompt ("... Think step by step ...") and
hundreds of unrelated developers run it with their own API keys. Every request of theirs
therefore carries the same chain-of-thought system prompt, under their own distinct tasks:
imitates a fleet sharing one harvest system prompt (``fleet_system_prompt``) and CoT
harvesting, for accounts that are otherwise as diverse as any user base.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from _h2_clients import clients
from _h2_clock import diurnal_poisson
from _h2_common import (
    END_US,
    MODEL_MINI,
    MODEL_REASON,
    MODEL_STD,
    START_US,
    US,
    Pop,
    accounts_block,
    cards,
    hex_ids,
    pick,
    rank_in_segment,
    seg_cumsum,
)
from _h2_frame import source_mix
from _h2_text import sample_text
from _h2_world import World, created_before, tz_of

#: The tool's built-in system prompt (one text for every user; tagged CoT by its wording).
OSS_AGENT_SYSTEM = (
    "You are Forgehand, an open-source coding agent running in the user's terminal. "
    "Think step by step before each action, explain your reasoning briefly, then edit files "
    "or run commands with the provided tools. Ask before doing anything destructive."
)
#: Share of developers that run the agent unattended (tool calls 1-4 s apart) rather than
#: approving each step by hand (human gaps of tens of seconds).
AUTONOMOUS_SHARE = 0.4
#: Share of developers that run the agent from a cloud VM / dev container, not from home.
CLOUD_SHARE = 0.3


def oss_agent_users(rng: np.random.Generator, w: World, n: int = 220) -> Pop:
    """Unrelated developers using one open-source agent: signups spread over two years, many
    countries, own cards, heavy-tailed volumes, each with their own tasks, part of their
    traffic outside the tool (no system prompt)."""
    country = w.countries(rng, n)
    ac = accounts_block(
        rng,
        n,
        persona="benign_oss_agent_users",
        tier=pick(rng, ["paid", "startup", "free"], n, [0.75, 0.1, 0.15]),
        created_us=created_before(rng, n, 180, 1.1, min_days=2.0),
        country=country,
        source=source_mix(rng, n),
    )
    ac["payment"] = np.where(ac["tier"] != "free", cards(rng, n), None)
    ac["ua"], ac["ja4"] = clients(rng, n, "mixed")
    tz = tz_of(country)
    # tasks a day: heavy-tailed (a few power users, many occasional ones)
    t_acct, t_ts = diurnal_poisson(
        rng,
        per_day=np.exp(np.log(4.0) + 1.1 * rng.standard_normal(n)),
        t0=np.full(n, START_US),
        t1=np.full(n, END_US),
        tz_hours=tz,
        flat=0.15,
    )
    T = len(t_acct)
    autonomous = rng.random(n) < AUTONOMOUS_SHARE
    steps = rng.geometric(1 / 6.0, T)
    loop = np.repeat(np.arange(T), steps)
    step = rank_in_segment(loop)
    acct = t_acct[loop]
    gaps = np.where(
        autonomous[acct],
        rng.uniform(1.0, 4.0, len(loop)),
        np.exp(np.log(25.0) + 0.9 * rng.standard_normal(len(loop))),
    )
    gaps[step == 0] = 0
    ts = t_ts[loop] + (seg_cumsum(gaps, loop) * US).astype(np.int64)
    keep = ts < END_US
    loop, step, acct, ts = loop[keep], step[keep], acct[keep], ts[keep]
    m = len(loop)
    task = sample_text(
        rng,
        [
            w.corpus.text["sharegpt"],
            w.corpus.text["mbpp"],
            w.corpus.text["arena"],
            w.corpus.text["user_oriented"],
        ],
        [0.65, 0.15, 0.1, 0.1],
        T,
    )
    prompt = task.take(pa.array(loop))
    # each developer also calls the API directly (scripts, chat) without the agent
    outside = rng.beta(1.2, 2.5, n)
    in_tool = rng.random(m) >= outside[acct]
    system = pa.array(np.where(in_tool, OSS_AGENT_SYSTEM, None).tolist(), pa.string())
    cloud = rng.random(n) < CLOUD_SHARE
    vm = w.pool_ips(rng, w.net.aws, n)
    home = w.home_ips(rng, country, acct, ts)
    ip = pc.if_else(pa.array(cloud[acct]), pa.array(vm[acct].tolist(), pa.string()), home)
    tok = w.tokens(rng, w.token_profile(rng, n, "chat"), acct, [prompt, system])
    model = pick(rng, [MODEL_STD, MODEL_REASON, MODEL_MINI], n, [0.55, 0.3, 0.15])[acct]
    ev = {
        "acct": acct,
        "ts": ts,
        "prompt": prompt,
        "system": system,
        "ip": ip,
        "model": model,
        "in_tok": tok["in_tok"] + step * rng.integers(100, 500, m),
        "out_tok": tok["out_tok"],
        "conv": hex_ids(rng, T, 8, "run_")[loop],
        "tool_count": np.where(in_tool, rng.integers(4, 9, n)[acct], 0),
    }
    return Pop(ac, ev)
