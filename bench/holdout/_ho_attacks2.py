"""Attack campaigns, part 2.

* ``forced_language``: reasoning harvest that forces the answer into another language, from
  abused edu accounts behind commercial VPN exits;
* ``relay_hijack``: legitimate customers' stolen API keys; from the hijack on, a relay forwards
  its own users' traffic through them under a reasoning-extraction system prompt, while the
  owners keep using their keys as before;
* ``release_pivot``: a fleet that idles like hobbyists, then pivots to the new model within
  hours of its release with an agentic-coding harvest.
"""

from __future__ import annotations

import numpy as np
from _ho_attacks import FLAT, _harvest_ev, task_bodies
from _ho_clients import JA4_COMMON, UA, pick_clients, rare_ja4
from _ho_clock import sessions
from _ho_common import Ctx, countries
from _ho_frame import RELEASE_S, Block, accounts, concat, hex_ids, merge_events
from _ho_people import DEV_MODELS, person_block
from _ho_text import AGENT_CODER_SYSTEM, FORCED_LANG, RELAY_SYSTEM, pick


def forced_language(ctx: Ctx) -> Block:
    rng = ctx.rng
    n = ctx.n(80, 6)
    acc = accounts(
        n,
        "forced_language",
        campaign="hx-lang",
        tier="edu",
        country=rng.choice(["US", "GB", "DE", "AU", "CA"], n),
        created_s=-rng.uniform(3, 17, n) * 86400,
    )
    s = sessions(
        rng,
        rng.uniform(2, 4, n),
        np.zeros(n),
        ctx.days,
        reqs_mean=20,
        gap_median_s=15,
        gap_sigma=0.8,
        diurnal=FLAT,
    )
    a, t, m = s["acct"], s["t"], s["t"].size
    body = task_bodies(ctx, m, {"gsm8k_train": 0.4, "competition_math": 0.3, "bbh": 0.3})
    w = rng.integers(0, len(FORCED_LANG), n)[a]  # each account sticks to one language framing
    pre = np.array([p for p, _ in FORCED_LANG], dtype=object)[w]
    post = np.array([q for _, q in FORCED_LANG], dtype=object)[w]
    prompt = concat(pre, body, post)
    model = np.where(rng.random(m) < 0.8, "atlas-3-think", "atlas-3")
    ev = _harvest_ev(ctx, a, t, prompt, model, 700)
    pool = ctx.net.sample(rng, "vpn", 100)
    ua, ja4 = pick_clients(rng, ("python",), n)
    ev.update(
        {
            "client_ip": pool[rng.integers(0, 100, m)],
            "user_agent": ua[a],
            "tls_fingerprint": ja4[a],
            "stream": False,
        }
    )
    return Block(acc, ev)


def relay_hijack(ctx: Ctx) -> Block:
    rng = ctx.rng
    n = ctx.n(30, 4)
    cc = countries(rng, n)
    acc = accounts(
        n,
        "relay_hijack",
        campaign="hx-relay",
        tier=rng.choice(["paid", "enterprise"], n),
        country=cc,
        created_s=-rng.uniform(365, 1100, n) * 86400,
        payment=hex_ids(rng, "pm_", n, 14),
    )
    # The owners: ordinary developers, before and after the theft.
    own = person_block(
        ctx,
        acc,
        rate_per_day=rng.lognormal(np.log(1.0), 0.6, n),
        reqs_mean=6,
        gap_median_s=40,
        work=True,
        clients=("python", "node"),
        model_w=DEV_MODELS,
        adopt=0.3,
    )
    hijack = rng.uniform(2, 5, n) * 86400
    # The relay's users: human sessions in UTC+8, routed through the stolen keys after hijack.
    users = ctx.n(600, 20)
    us = sessions(
        rng,
        rng.lognormal(np.log(0.7), 0.8, users),
        np.full(users, 8.0),
        ctx.days,
        reqs_mean=5,
        gap_median_s=50,
    )
    t = us["t"]
    a = rng.integers(0, n, t.size)
    keep = t >= hijack[a]
    a, t, sess = a[keep], t[keep], us["sess"][keep]
    m = t.size
    prompt = pick(rng, ctx.corpus.chat, m)
    code = rng.random(m) < 0.3
    prompt[code] = pick(rng, ctx.corpus.code, int(code.sum()))
    model = np.where(rng.random(m) < 0.6, "atlas-3-think", "atlas-3")
    system = np.asarray(RELAY_SYSTEM, dtype=object)[rng.integers(0, len(RELAY_SYSTEM), m)]
    relay = _harvest_ev(ctx, a, t, prompt, model, 500)
    key_of = np.full(n, None, dtype=object)  # the stolen key is the owner's own key
    key_of[own.ev["acct"]] = own.ev["api_key_id"]
    servers = np.concatenate([ctx.net.sample(rng, "vultr", 4), ctx.net.sample(rng, "linode", 4)])
    relay.update(
        {
            "system_prompt": system,
            "client_ip": servers[rng.integers(0, servers.size, m)],
            "user_agent": UA["node"][0],
            "tls_fingerprint": JA4_COMMON["node"],
            "api_key_id": key_of[a],
            "conversation_id": hex_ids(rng, "conv_", int(us["sess"].max()) + 1)[sess],
            "stream": True,
        }
    )
    return Block(acc, merge_events(own.ev, relay))


def release_pivot(ctx: Ctx) -> Block:
    rng = ctx.rng
    n = ctx.n(100, 8)
    created = RELEASE_S - rng.uniform(1, 14, n) * 86400
    acc = accounts(
        n,
        "release_pivot",
        campaign="hx-pivot",
        tier=rng.choice(["free", "paid"], n),
        country=countries(rng, n),
        created_s=created,
        payment=hex_ids(rng, "pm_", n, 14),
    )
    # Before the release: light hobby-like use of the current model, to age the accounts.
    warm = person_block(
        ctx, acc, rate_per_day=np.full(n, 0.6), reqs_mean=3, gap_median_s=90, model_w={"atlas-3": 1.0}
    )
    keep = (warm.ev["t"] < RELEASE_S) & (warm.ev["t"] > created[warm.ev["acct"]])
    warm.ev = {
        k: (v[keep] if isinstance(v, np.ndarray) and v.shape[:1] == keep.shape else v)
        for k, v in warm.ev.items()
    }
    # After: within 1-20 h of the release, a steady agentic-coding harvest on the new model.
    pivot = RELEASE_S + rng.uniform(1, 20, n) * 3600
    s = sessions(
        rng,
        rng.uniform(4, 6, n),
        np.zeros(n),
        ctx.days,
        reqs_mean=30,
        gap_median_s=12,
        gap_sigma=0.5,
        diurnal=FLAT,
        day_lo=pivot / 86400,
    )
    a, t, m = s["acct"], s["t"], s["t"].size
    body = task_bodies(ctx, m, {"code": 0.6, "competition_math": 0.2, "tool_tasks": 0.2})
    model = np.full(m, "atlas-4-think", dtype=object)
    ev = _harvest_ev(ctx, a, t, body, model, 900)
    tor = rng.random(n) < 0.3
    cloud = np.concatenate([ctx.net.sample(rng, "alibaba", n), ctx.net.sample(rng, "gcp", n)]).reshape(2, n).T
    ip = cloud[a, rng.integers(0, 2, m)]
    tm = tor[a]
    ip[tm] = ctx.net.sample(rng, "tor", int(tm.sum()))
    ja4 = rare_ja4(rng, 1)[0]
    ev.update(
        {
            "system_prompt": AGENT_CODER_SYSTEM,
            "tool_count": rng.integers(4, 9, m),
            "client_ip": ip,
            "user_agent": UA["python"][1],
            "tls_fingerprint": ja4,
            "stream": False,
            "temperature": 0.6,
        }
    )
    return Block(acc, merge_events(warm.ev, ev))
