"""Shared persona helpers: a person's home network, their client, their prompt and token draws.

Why here: benign users, the university, relay users and the adaptive attacker all need "a
person in country X on ISP Y with browser Z"; keeping one implementation means the adaptive
attacker imitates exactly what ordinary people look like in this dataset, no more, no less.
"""

from __future__ import annotations

import numpy as np
from _h4_clock import est_tokens, reasoning_tokens, trace_tokens
from _h4_core import CHAT_MODEL, MINI_MODEL, NEW_REASONING_MODEL, REASONING_MODEL, RELEASE_TS, UA, Account
from _h4_world import RESIDENTIAL_ASNS, World, ip_in_ranges

#: Share of people who move their reasoning-model traffic to the new model once they try it.
NEW_MODEL_ADOPTION = 0.5


def home(rng: np.random.Generator, w: World, asn: int | None = None) -> tuple[int, str, float]:
    """(asn, country, utc offset) of a home connection on a real eyeball ISP."""
    asns = [a for a in RESIDENTIAL_ASNS if a in w.resid_ranges]
    a = asn if asn is not None else int(asns[int(rng.integers(len(asns)))])
    country, tz = RESIDENTIAL_ASNS[a]
    return a, country, tz


def home_ip(rng: np.random.Generator, w: World, asn: int) -> str:
    return ip_in_ranges(rng, w.resid_ranges[asn])


def client(
    rng: np.random.Generator, kinds: tuple[str, ...], p: tuple[float, ...] | None = None
) -> tuple[str, str]:
    k = kinds[int(rng.choice(len(kinds), p=p))]
    return UA[k]


def pick(rng: np.random.Generator, xs: list):
    return xs[int(rng.integers(len(xs)))]


def chat_prompt(rng: np.random.Generator, w: World) -> str:
    r = rng.random()
    if r < 0.7:
        return pick(rng, w.chat_prompts)
    if r < 0.85:
        return pick(rng, w.arena_prompts)
    return pick(rng, w.roleplay_prompts)


def person_model(rng: np.random.Generator, ts: float, reasoning_share: float, adopts: bool) -> str:
    """A person's model choice: chat, mini or a reasoning model (the new one after release if they adopt)."""
    r = rng.random()
    if r < reasoning_share:
        return NEW_REASONING_MODEL if adopts and ts >= RELEASE_TS + 3600 * 4 else REASONING_MODEL
    return MINI_MODEL if r < reasoning_share + 0.2 else CHAT_MODEL


def tokens_for(
    rng: np.random.Generator,
    w: World,
    model: str,
    prompt_tokens: int,
    history: int,
    trace: np.ndarray,
    r1_row,
) -> tuple[int, int, int]:
    """(input, output, reasoning) for one request: the prompt plus history in, a trace-shaped answer out."""
    _, out = trace_tokens(rng, trace, 1)
    if model in (REASONING_MODEL, NEW_REASONING_MODEL):
        o, r = reasoning_tokens(rng, r1_row, 1)
        return prompt_tokens + history, int(o[0]), int(r[0])
    return prompt_tokens + history, int(out[0]), 0


def new_account(
    ev,
    rng,
    aid: str,
    persona: str,
    campaign: str | None,
    created: float,
    tier: str,
    country: str,
    payment: str | None,
    ua: tuple[str, str],
    source: str = "full",
    keys: list[str] | None = None,
) -> Account:
    return ev.add_account(
        Account(aid, persona, campaign, created, tier, country, payment, ua[0], ua[1], source, keys or [])
    )


__all__ = ["chat_prompt", "client", "est_tokens", "home", "home_ip", "person_model", "pick", "tokens_for"]
