"""Shared per-event helpers for personas: countries, home/mobile IPs, model choice, tokens."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from _ho_corpus import Corpus
from _ho_frame import RELEASE_S, est_tokens, trace_tokens
from _ho_net import Net

#: Declared countries of consumer accounts and their weights (rough web-traffic shares).
COUNTRIES = ("US", "GB", "DE", "FR", "ES", "JP", "KR", "IN", "BR", "AU", "VN", "PH")
COUNTRY_W = np.array([35, 6, 6, 4, 3, 5, 4, 10, 5, 3, 2, 3], dtype=float)
#: UTC offset (hours) of each country's main population centre.
TZ = {
    "US": -6,
    "GB": 0,
    "DE": 1,
    "FR": 1,
    "ES": 1,
    "JP": 9,
    "KR": 9,
    "IN": 5.5,
    "BR": -3,
    "AU": 10,
    "VN": 7,
    "PH": 8,
    "CN": 8,
    "RU": 3,
    "SG": 8,
}
#: Share of a person's requests sent from a phone on a mobile carrier (CGNAT address).
MOBILE_SHARE = 0.15
#: Share sent from some other network (work, cafe, a friend's wifi).
ROAMING_SHARE = 0.05
#: Reasoning share of output tokens on "think" models (ServeGen DeepSeek-R1 median ~0.55).
REASONING_SHARE = (0.35, 0.8)


@dataclass
class Ctx:
    """What every persona needs: randomness, corpora, IP pools, period length."""

    rng: np.random.Generator
    corpus: Corpus
    net: Net
    days: int
    scale: float

    def n(self, base: int, lo: int = 1) -> int:
        """A persona's account count scaled by ``--scale`` (never below ``lo``)."""
        return max(lo, round(base * self.scale))


def countries(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.asarray(COUNTRIES, dtype=object)[rng.choice(len(COUNTRIES), n, p=COUNTRY_W / COUNTRY_W.sum())]


def tz_of(country: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    tz = np.array([TZ.get(c, 0) for c in country], dtype=float)
    if rng is not None:  # the US spans several zones
        tz = np.where(country == "US", rng.choice([-8, -7, -6, -5, -5], country.size), tz)
    return tz


def home_ips(ctx: Ctx, country: np.ndarray) -> np.ndarray:
    """One residential address per account, in its declared country's eyeball ASNs."""
    out = np.empty(country.size, dtype=object)
    for cc in np.unique(country):
        m = country == cc
        kind = f"res_{cc}" if f"res_{cc}" in ctx.net.blocks else "res_any"
        out[m] = ctx.net.sample(ctx.rng, kind, int(m.sum()))
    return out


def person_ips(ctx: Ctx, acct: np.ndarray, home: np.ndarray, country: np.ndarray) -> np.ndarray:
    """Per-event address: mostly home, sometimes the phone (mobile CGNAT), sometimes elsewhere."""
    rng = ctx.rng
    n = acct.size
    ip = home[acct].copy()
    u = rng.random(n)
    mob = u < MOBILE_SHARE
    us = mob & (country[acct] == "US")
    ip[us] = ctx.net.sample(rng, "mob_US", int(us.sum()))
    other = mob & ~us
    ip[other] = ctx.net.sample(rng, "res_any", int(other.sum()))
    roam = (u >= MOBILE_SHARE) & (u < MOBILE_SHARE + ROAMING_SHARE)
    ip[roam] = ctx.net.sample(rng, "res_any", int(roam.sum()))
    return ip


def models(
    rng: np.random.Generator,
    t: np.ndarray,
    weights: dict[str, float],
    adopt_max: float = 0.0,
    adopt_hours: float = 36.0,
) -> np.ndarray:
    """Model per event; after the release a logistic share ``adopt_max`` moves to the new model."""
    names = np.array(list(weights), dtype=object)
    w = np.array(list(weights.values()), dtype=float)
    out = names[rng.choice(names.size, t.size, p=w / w.sum())]
    if adopt_max > 0:
        since_h = (t - RELEASE_S) / 3600.0
        share = np.where(
            since_h > 0, adopt_max / (1 + np.exp(-(since_h - adopt_hours) / (adopt_hours / 4))), 0
        )
        out = np.where(rng.random(t.size) < share, "atlas-4-think", out)
    return out


def reasoning_tokens(rng: np.random.Generator, model: np.ndarray, out_tok: np.ndarray) -> np.ndarray:
    """Reasoning share of output on think models, 0 elsewhere."""
    think = np.char.endswith(model.astype(str), "-think")
    share = rng.uniform(*REASONING_SHARE, model.size)
    return np.where(think, (out_tok * share).astype(np.int64), 0)


def think_output(rng: np.random.Generator, model: np.ndarray, out_tok: np.ndarray) -> np.ndarray:
    """Think models write a reasoning trace on top of the visible answer (2-4x longer)."""
    think = np.char.endswith(model.astype(str), "-think")
    return np.where(think, (out_tok * rng.uniform(2.0, 4.0, model.size)).astype(np.int64), out_tok)


def chat_tokens(
    ctx: Ctx, prompt: np.ndarray, system: np.ndarray | None, turn: np.ndarray | None, trace: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(input, output) tokens: prompt + system estimate, prior turns as context, real output sizes."""
    n = prompt.size
    inp = est_tokens(prompt)
    if system is not None:
        inp = inp + est_tokens(system)
    ctx_in, out = trace_tokens(ctx.rng, trace, n)
    if turn is not None:
        # Later turns resend the conversation: grow with the turn index (Mooncake-sized contexts).
        moon_in, _ = trace_tokens(ctx.rng, ctx.corpus.mooncake, n)
        inp = inp + np.where(turn > 0, np.minimum(moon_in, 400 * turn), 0)
    del ctx_in
    return inp, np.maximum(out, 1)
