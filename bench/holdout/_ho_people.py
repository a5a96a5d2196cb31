"""Benign people: hobbyists, Private Relay and VPN users, non-English users, developers,
families and teams sharing a card, and a university class behind one NAT address.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from _ho_clients import BROWSERS, SDKS, pick_clients
from _ho_clock import DIURNAL_WORK, WEEKDAY_WORK, sessions
from _ho_common import (
    Ctx,
    chat_tokens,
    countries,
    home_ips,
    models,
    person_ips,
    reasoning_tokens,
    think_output,
    tz_of,
)
from _ho_frame import Block, accounts, concat, hex_ids, merge_events
from _ho_text import ASSIGNMENT, NATIVE_MATH, fill, pick

CHAT_MODELS = {"atlas-3": 0.6, "atlas-3-mini": 0.25, "atlas-3-think": 0.15}
DEV_MODELS = {"atlas-3": 0.45, "atlas-3-mini": 0.25, "atlas-3-think": 0.25, "atlas-2": 0.05}


def _chat_prompts(ctx: Ctx, n: int, code_share: float = 0.0) -> np.ndarray:
    p = pick(ctx.rng, ctx.corpus.chat, n)
    code = ctx.rng.random(n) < code_share
    p[code] = pick(ctx.rng, ctx.corpus.chat_code, int(code.sum()))
    return p


def person_block(
    ctx: Ctx,
    acc: dict[str, np.ndarray],
    *,
    rate_per_day: np.ndarray,
    reqs_mean: float = 4.0,
    gap_median_s: float = 75.0,
    gap_sigma: float = 1.0,
    work: bool = False,
    clients: tuple[str, ...] = BROWSERS,
    model_w: dict[str, float] = CHAT_MODELS,
    adopt: float = 0.15,
    prompts: Callable[[Ctx, int], np.ndarray] | None = None,
    ip_fn: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    tz: np.ndarray | None = None,
    client_arrays: tuple[np.ndarray, np.ndarray] | None = None,
) -> Block:
    """A population of people: sessions, their prompts, their home/mobile addresses."""
    rng = ctx.rng
    n = acc["persona"].size
    tz = tz_of(acc["country"], rng) if tz is None else tz
    s = sessions(
        rng,
        rate_per_day,
        tz,
        ctx.days,
        reqs_mean=reqs_mean,
        gap_median_s=gap_median_s,
        gap_sigma=gap_sigma,
        **({"diurnal": DIURNAL_WORK, "weekday": WEEKDAY_WORK} if work else {}),
    )
    a, t, m = s["acct"], s["t"], s["t"].size
    prompt = (prompts or _chat_prompts)(ctx, m)
    model = models(rng, t, model_w, adopt)
    inp, out = chat_tokens(ctx, prompt, None, s["turn"], ctx.corpus.azure_conv)
    out = think_output(rng, model, out)
    ua, ja4 = pick_clients(rng, clients, n) if client_arrays is None else client_arrays
    if ip_fn is None:
        home = home_ips(ctx, acc["country"])
        ip = person_ips(ctx, a, home, acc["country"])
    else:
        ip = ip_fn(a, s["sess"])
    conv = hex_ids(rng, "conv_", int(s["sess"].max()) + 1 if m else 0)
    ev = {
        "acct": a,
        "t": t,
        "model": model,
        "prompt": prompt,
        "input_tokens": inp,
        "output_tokens": out,
        "reasoning_output_tokens": reasoning_tokens(rng, model, out),
        "client_ip": ip,
        "user_agent": ua[a],
        "tls_fingerprint": ja4[a],
        "api_key_id": hex_ids(rng, "key_", n, 10)[a],
        "conversation_id": conv[s["sess"]] if m else conv,
        "stream": rng.random(m) < 0.85,
        "temperature": np.where(rng.random(m) < 0.7, None, rng.choice([0.2, 0.7, 1.0], m)),
    }
    return Block(acc, ev)


def hobbyists(ctx: Ctx) -> Block:
    n = ctx.n(2200)
    cc = countries(ctx.rng, n)
    acc = accounts(
        n,
        "benign_hobbyist",
        tier=ctx.rng.choice(["free", "paid"], n, p=[0.7, 0.3]),
        country=cc,
        created_s=-ctx.rng.uniform(1, 700, n) * 86400,
    )
    return person_block(ctx, acc, rate_per_day=ctx.rng.lognormal(np.log(0.35), 0.9, n))


def private_relay(ctx: Ctx) -> Block:
    """iCloud Private Relay: one egress address per session, drawn from a pool many users share."""
    rng = ctx.rng
    n = ctx.n(500)
    cc = rng.choice(["US", "GB", "DE", "JP", "AU"], n, p=[0.6, 0.1, 0.1, 0.1, 0.1]).astype(object)
    acc = accounts(
        n,
        "benign_private_relay",
        tier=rng.choice(["free", "paid"], n),
        country=cc,
        created_s=-rng.uniform(1, 500, n) * 86400,
    )
    pool = np.concatenate([ctx.net.sample(rng, "apple_relay", 160), ctx.net.relay_ipv6(rng, 40)])

    def ip_fn(a: np.ndarray, sess: np.ndarray) -> np.ndarray:
        return pool[rng.integers(0, pool.size, int(sess.max()) + 1)][sess]

    return person_block(
        ctx, acc, rate_per_day=rng.lognormal(np.log(0.4), 0.8, n), clients=("safari",), ip_fn=ip_fn
    )


def vpn_users(ctx: Ctx) -> Block:
    """Privacy-minded users on commercial VPNs (shared exit addresses), a few over Tor."""
    rng = ctx.rng
    n = ctx.n(150)
    cc = countries(rng, n)
    acc = accounts(
        n,
        "benign_vpn_user",
        tier=rng.choice(["free", "paid"], n),
        country=cc,
        created_s=-rng.uniform(1, 400, n) * 86400,
    )
    pool = np.concatenate([ctx.net.sample(rng, "vpn", 90), ctx.net.sample(rng, "protonvpn", 30)])
    tor_user = rng.random(n) < 0.08

    def ip_fn(a: np.ndarray, sess: np.ndarray) -> np.ndarray:
        ip = pool[rng.integers(0, pool.size, int(sess.max()) + 1)][sess]
        t = tor_user[a]
        ip[t] = ctx.net.sample(rng, "tor", int(t.sum()))
        return ip

    return person_block(
        ctx, acc, rate_per_day=rng.lognormal(np.log(0.4), 0.8, n), ip_fn=ip_fn, clients=("firefox", "chrome")
    )


def intl_users(ctx: Ctx) -> Block:
    """People writing in their own language, incl. students asking maths step by step."""
    rng = ctx.rng
    n = ctx.n(300)
    cc = rng.choice(["JP", "KR", "BR", "DE", "VN", "ES"], n).astype(object)
    acc = accounts(
        n,
        "benign_intl_user",
        tier=rng.choice(["free", "paid"], n, p=[0.8, 0.2]),
        country=cc,
        created_s=-rng.uniform(1, 600, n) * 86400,
    )

    def prompts(c: Ctx, m: int) -> np.ndarray:
        p = pick(c.rng, c.corpus.chat_non_english, m)
        u = c.rng.random(m)
        eng = u < 0.35
        p[eng] = pick(c.rng, c.corpus.chat, int(eng.sum()))
        math = u > 0.8
        k = int(math.sum())
        w = c.rng.integers(0, len(NATIVE_MATH), k)
        pre = np.array([NATIVE_MATH[i][0] for i in w], dtype=object)
        post = np.array([NATIVE_MATH[i][1] for i in w], dtype=object)
        p[math] = concat(pre, pick(c.rng, c.corpus.gsm8k_train, k), post)
        return p

    return person_block(
        ctx,
        acc,
        rate_per_day=rng.lognormal(np.log(0.5), 0.8, n),
        prompts=prompts,
        clients=("chrome", "safari", "okhttp"),
    )


def developers(ctx: Ctx) -> Block:
    """Developers testing the API from laptops and cloud dev boxes, office hours, SDK clients."""
    rng = ctx.rng
    n = ctx.n(450)
    cc = countries(rng, n)
    acc = accounts(
        n,
        "benign_developer",
        tier=rng.choice(["free", "paid", "startup"], n, p=[0.3, 0.6, 0.1]),
        country=cc,
        created_s=-rng.uniform(1, 900, n) * 86400,
    )
    cloud_box = rng.random(n) < 0.2
    box_ip = ctx.net.sample(rng, "aws", n)
    home = home_ips(ctx, cc)

    def ip_fn(a: np.ndarray, sess: np.ndarray) -> np.ndarray:
        ip = person_ips(ctx, a, home, cc)
        return np.where(cloud_box[a], box_ip[a], ip)

    return person_block(
        ctx,
        acc,
        rate_per_day=rng.lognormal(np.log(0.9), 0.9, n),
        reqs_mean=8,
        gap_median_s=40,
        work=True,
        clients=SDKS,
        model_w=DEV_MODELS,
        adopt=0.35,
        prompts=lambda c, m: _chat_prompts(c, m, 0.45),
        ip_fn=ip_fn,
    )


def shared_cards(ctx: Ctx, *, teams: bool) -> Block:
    """Families (2-4 people) or small teams (4-9) on one payment card and one home/office address."""
    rng = ctx.rng
    groups = ctx.n(25 if teams else 110)
    size = rng.integers(4, 10, groups) if teams else rng.integers(2, 5, groups)
    g = np.repeat(np.arange(groups), size)
    n = g.size
    gcc = countries(rng, groups)
    card = hex_ids(rng, "pm_", groups, 14)
    created = -rng.uniform(30, 900, groups)[g] * 86400 + rng.uniform(0, 40, n) * 86400
    persona = "benign_team_card" if teams else "benign_family_card"
    tier = np.where(rng.random(groups) < 0.5, "enterprise", "paid")[g] if teams else "paid"
    acc = accounts(n, persona, tier=tier, country=gcc[g], created_s=created, payment=card[g])
    site = home_ips(ctx, gcc)[g]
    cc = acc["country"]

    def ip_fn(a: np.ndarray, sess: np.ndarray) -> np.ndarray:
        return person_ips(ctx, a, site, cc)

    if teams:
        return person_block(
            ctx,
            acc,
            rate_per_day=rng.lognormal(np.log(1.0), 0.7, n),
            reqs_mean=6,
            gap_median_s=45,
            work=True,
            clients=SDKS + BROWSERS,
            model_w=DEV_MODELS,
            adopt=0.3,
            prompts=lambda c, m: _chat_prompts(c, m, 0.35),
            ip_fn=ip_fn,
        )
    return person_block(ctx, acc, rate_per_day=rng.lognormal(np.log(0.35), 0.8, n), ip_fn=ip_fn)


def university(ctx: Ctx) -> Block:
    """A class of edu accounts behind ONE campus NAT address, all doing the same problem set
    in the same lab hour (Tue/Thu 14:00 Pacific), signed up the same week; plus home use."""
    rng = ctx.rng
    n = ctx.n(280, 20)
    created = -20 * 86400 + rng.uniform(0, 2, n) * 86400
    acc = accounts(n, "benign_university_nat", tier="edu", country="US", created_s=created)
    nat = ctx.net.sample(rng, "uni_stanford", 2)
    home = home_ips(ctx, acc["country"])
    ua, ja4 = pick_clients(rng, BROWSERS, n)
    base = person_block(
        ctx,
        acc,
        rate_per_day=rng.lognormal(np.log(0.3), 0.8, n),
        tz=np.full(n, -8.0),
        ip_fn=lambda a, s: np.where(rng.random(a.size) < 0.5, nat[0], home[a]),
        client_arrays=(ua, ja4),
    )
    # Lab sessions: days with weekday Tue/Thu (T0 is a Monday) at 14:00 PT = 22:00 UTC.
    labs = [d for d in range(ctx.days) if d % 7 in (1, 3)]
    ev_parts = []
    for d in labs:
        present = np.flatnonzero(rng.random(n) < 0.85)
        k = rng.integers(3, 9, present.size)
        a = np.repeat(present, k)
        t = d * 86400 + 22 * 3600 + rng.uniform(0, 5400, a.size)
        problems = pick(rng, ctx.corpus.gsm8k_test, 5)  # the same assignment for the whole class
        q = rng.integers(0, 5, a.size)
        tpl = rng.integers(0, len(ASSIGNMENT), a.size)
        ev_parts.append((a, t, fill(ASSIGNMENT, tpl, k=q + 1, q=problems[q])))
    a = np.concatenate([p[0] for p in ev_parts])
    t = np.concatenate([p[1] for p in ev_parts])
    prompt = np.concatenate([p[2] for p in ev_parts])
    m = a.size
    model = models(rng, t, {"atlas-3": 0.7, "atlas-3-think": 0.3})
    inp, out = chat_tokens(ctx, prompt, None, None, ctx.corpus.azure_conv)
    out = think_output(rng, model, out)
    lab = {
        "acct": a,
        "t": t,
        "model": model,
        "prompt": prompt,
        "input_tokens": inp,
        "output_tokens": out,
        "reasoning_output_tokens": reasoning_tokens(rng, model, out),
        "client_ip": np.full(m, nat[0], object),
        "user_agent": ua[a],
        "tls_fingerprint": ja4[a],
        "stream": np.ones(m, bool),
    }
    return Block(acc, merge_events(base.ev, lab))
