"""Attack campaigns: the classic hydra fleet and the adaptive attacker (full and metadata-light).

``atk_hydra_fleet`` (campaign ``h4-hydra``): the public record's hydra cluster. A fixed number
of concurrent slots harvest reasoning 24/7; each account runs for about a day and is replaced
at once by one created minutes earlier; eight shared cards; every request through a rotating
pool of rented datacenter addresses; one Python client; three fixed CoT-forcing templates and a
shared system prompt over real GSM8K-train, MATH, BBH and alpaca-libre items; pivot to the new
model three hours after release.

``atk_adaptive`` (``h4-adaptive``) knows what that fleet gets caught on and avoids all of it:
one card per account, accounts opened over months (bought or farmed slowly), one sticky
residential exit per account (a home-ISP address in the claimed billing country, changed every
day or two, as residential proxy networks sell them), a browser or SDK client, human timing
(sessions on the local diurnal curve, think time between requests, lighter weekends), no
shared template: every harvest prompt is a fresh paraphrase, and half of each account's
requests are cover traffic (real ShareGPT / Arena prompts to the chat models). Its accounts
split the item pool between them, so no item is sent twice. It moves to the new model within
a day of release, like the heavy benign users who adopt it.

``atk_adaptive_metalight`` (``h4-adaptive-ml``): the same operator's accounts on a product whose
logs are the ``minimal`` source: no text, no client fingerprint, IP on part of the rows.
"""

from __future__ import annotations

import numpy as np
from _h4_clock import est_tokens, human_times, reasoning_tokens, trace_tokens
from _h4_core import (
    CHAT_MODEL,
    DAYS,
    MINI_MODEL,
    NEW_REASONING_MODEL,
    REASONING_MODEL,
    RELEASE_TS,
    WINDOW_START,
    ident,
)
from _h4_people import chat_prompt, client, home, home_ip, new_account, pick
from _h4_text import FLEET_SYSTEM, FLEET_TEMPLATES, paraphrase_cot
from _h4_world import HOSTING_PROVIDERS, World, ip_in_nets

#: Classic fleet: concurrent slots, median account lifetime (h), mean gap between a slot's
#: requests (s), cards, proxy pool size, pivot delay after release (h).
HYDRA_SLOTS, HYDRA_LIFETIME_H, HYDRA_GAP_S, HYDRA_CARDS, HYDRA_PROXIES, HYDRA_PIVOT_H = (
    40,
    30.0,
    200.0,
    8,
    300,
    3.0,
)
#: Adaptive attacker: accounts, sessions a day, requests a session, think time (s), share of
#: cover traffic, days an exit address is kept, pivot delay range (h).
N_ADAPTIVE, N_ADAPTIVE_ML = 150, 100
ADAPT_SESSIONS, ADAPT_REQS, ADAPT_THINK_S, COVER_SHARE = 5.0, 12.0, 35.0, 0.5
STICKY_DAYS, ADAPT_PIVOT_H = (1.0, 3.0), (6.0, 30.0)


def _harvest_items(w: World, rng) -> list[str]:
    items = list(w.gsm8k_train) + list(w.math_problems) + [x for _, x in w.bbh]
    items += [f"{i}\n{x}".strip() for i, x in w.alpaca_libre] + list(w.wizard)
    return [items[j] for j in rng.permutation(len(items))]


def hydra(ev, w: World, rng, seed: int, scale: float) -> None:
    items = _harvest_items(w, rng)
    pool_nets = [n for p in HOSTING_PROVIDERS for n in w.hosting_nets.get(p, [])]
    proxies = [ip_in_nets(rng, pool_nets) for _ in range(HYDRA_PROXIES)]
    cards = [ident("pm", seed, "hydra", c) for c in range(HYDRA_CARDS)]
    ua = client(rng, ("aiohttp",))
    r1_row = w.r1_stats[int(rng.integers(len(w.r1_stats)))]
    burst = WINDOW_START - 2 * 86_400 + float(rng.uniform(0, 86_400))
    k, item_i, end = 0, 0, WINDOW_START + DAYS * 86_400
    for _slot in range(max(1, round(HYDRA_SLOTS * scale))):
        t = WINDOW_START + float(rng.uniform(0, 1800))
        first = True
        while t < end:
            life = float(rng.lognormal(np.log(HYDRA_LIFETIME_H), 0.5)) * 3600
            created = burst + float(rng.uniform(0, 3600)) if first else t - float(rng.uniform(300, 2400))
            first = False
            a = new_account(
                ev,
                rng,
                ident("org", seed, "hydra", k),
                "atk_hydra_fleet",
                "h4-hydra",
                created,
                str(rng.choice(["free", "edu", "startup"])),
                str(rng.choice(["US", "SG", "GB", "HK"])),
                pick(rng, cards),
                ua,
            )
            k += 1
            stop = min(t + life, end)
            n = rng.poisson((stop - t) / HYDRA_GAP_S)
            times = np.sort(rng.uniform(t, stop, n))
            out, reas = reasoning_tokens(rng, r1_row, len(times))
            for ts, o, r in zip(times, out, reas, strict=True):
                q = items[item_i % len(items)]
                item_i += 1
                prompt = pick(rng, FLEET_TEMPLATES).format(q=q)
                model = NEW_REASONING_MODEL if ts >= RELEASE_TS + HYDRA_PIVOT_H * 3600 else REASONING_MODEL
                ev.add(
                    a,
                    float(ts),
                    model,
                    est_tokens(prompt) + est_tokens(FLEET_SYSTEM),
                    int(o),
                    reasoning=int(r),
                    ip=pick(rng, proxies),
                    prompt=prompt,
                    system=FLEET_SYSTEM,
                    temperature=0.7,
                )
            t = stop + float(rng.uniform(30, 600))  # the replacement starts at once


def adaptive(
    ev, w: World, rng, seed: int, scale: float, persona: str, campaign: str, n: int, source: str
) -> None:
    items = _harvest_items(w, rng)
    shard = max(1, len(items) // max(n, 1))
    for i in range(n):
        my_items = items[i * shard : (i + 1) * shard] or items
        asn, country, tz = home(rng, w)
        created = WINDOW_START - float(rng.uniform(20, 500)) * 86_400
        free = rng.random() < 0.3
        tier = "free" if free else "paid"
        aid = ident("org", seed, persona, i)
        a = new_account(
            ev,
            rng,
            aid,
            persona,
            campaign,
            created,
            tier,
            country,
            ident("pm", seed, persona, i),
            client(rng, ("chrome", "chrome_mac", "safari", "firefox", "openai_py")),
            source,
        )
        # Sticky residential exit: one home address, replaced every STICKY_DAYS.
        changes, t = [], WINDOW_START
        while t < WINDOW_START + DAYS * 86_400:
            changes.append((t, home_ip(rng, w, asn)))
            t += float(rng.uniform(*STICKY_DAYS)) * 86_400
        r1_row = w.r1_stats[int(rng.integers(len(w.r1_stats)))]
        pivot = RELEASE_TS + float(rng.uniform(*ADAPT_PIVOT_H)) * 3600
        temp = float(rng.choice([1.0, 0.7]))
        spd = float(rng.lognormal(np.log(ADAPT_SESSIONS), 0.3))
        sessions = human_times(rng, WINDOW_START, DAYS, tz, spd, ADAPT_REQS, ADAPT_THINK_S)
        item_i = 0
        for s_i, sess in enumerate(sessions):
            conv, hist = ident("conv", seed, aid, s_i), 0
            for ts in sess:
                ip = next((addr for t0, addr in reversed(changes) if ts >= t0), changes[0][1])
                if rng.random() < COVER_SHARE:
                    prompt = chat_prompt(rng, w)
                    model = MINI_MODEL if rng.random() < 0.3 else CHAT_MODEL
                    _, out = trace_tokens(rng, w.azure_conv, 1)
                    pt = est_tokens(prompt)
                    ev.add(
                        a,
                        ts,
                        model,
                        pt + hist,
                        int(out[0]),
                        ip=ip,
                        prompt=prompt,
                        conv=conv,
                        temperature=temp,
                        stream=True,
                    )
                    hist = min(hist + pt + int(out[0]), 30_000)
                else:
                    q = my_items[item_i % len(my_items)]
                    item_i += 1
                    prompt = paraphrase_cot(rng, q)
                    model = NEW_REASONING_MODEL if ts >= pivot and rng.random() < 0.85 else REASONING_MODEL
                    o, r = reasoning_tokens(rng, r1_row, 1)
                    ev.add(
                        a,
                        ts,
                        model,
                        est_tokens(prompt),
                        int(o[0]),
                        reasoning=int(r[0]),
                        ip=ip,
                        prompt=prompt,
                        conv=ident("conv", seed, aid, s_i, item_i),
                        temperature=temp,
                        stream=True,
                    )


def generate(ev, w: World, rng_for, seed: int, scale: float) -> None:
    hydra(ev, w, rng_for("hydra"), seed, scale)
    adaptive(
        ev,
        w,
        rng_for("adaptive"),
        seed,
        scale,
        "atk_adaptive",
        "h4-adaptive",
        max(1, round(N_ADAPTIVE * scale)),
        "full",
    )
    adaptive(
        ev,
        w,
        rng_for("adaptive_ml"),
        seed,
        scale,
        "atk_adaptive_metalight",
        "h4-adaptive-ml",
        max(1, round(N_ADAPTIVE_ML * scale)),
        "minimal",
    )
