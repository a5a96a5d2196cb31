"""Clock, models, client fingerprints, timing and text helpers shared by every population.

The window is seven days, Mon 2026-04-06 .. Sun 2026-04-12 (UTC). A new flagship model,
``orion-3``, goes live on Thursday 16:00 UTC: evaluation harnesses sweep it within hours
(the release-day burst) and so does one attack campaign (the public record's "pivot to a
new model within 24 hours"). Names (models, provider) are unlike any other generator's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

US = 1_000_000
MIN_US = 60 * US
HOUR_US = 60 * MIN_US
DAY_US = 24 * HOUR_US
#: First instant of the window (a Monday, UTC, microseconds since the epoch).
START_US = int(datetime(2026, 4, 6, tzinfo=UTC).timestamp()) * US
DAYS = 7
END_US = START_US + DAYS * DAY_US
#: The new model's release: Thursday (day 3) 16:00 UTC.
RELEASE_US = START_US + 3 * DAY_US + 16 * HOUR_US
PROVIDER = "orion-labs"
M_LEGACY, M_MINI, M_MAIN, M_REASON, M_NEW = "orion-1.5", "orion-2-mini", "orion-2", "orion-r1", "orion-3"
ALL_MODELS = np.array([M_LEGACY, M_MINI, M_MAIN, M_REASON, M_NEW], dtype=object)

#: Hour-of-day weights (local time) of people using a chat product: asleep 1-6, work-day
#: peaks, an evening bump. The standard shape of consumer web traffic.
HUMAN_HOURS = np.array(
    [
        2,
        1.2,
        0.7,
        0.4,
        0.3,
        0.4,
        0.8,
        1.8,
        3.5,
        5,
        5.5,
        5.6,
        4.8,
        5.2,
        5.6,
        5.5,
        5.0,
        4.2,
        3.6,
        3.8,
        4.2,
        4.0,
        3.4,
        2.6,
    ]
)
#: Weekday weights Mon..Sun for working users; hobbyists get a flatter week.
WORK_WEEK = np.array([1.0, 1.05, 1.05, 1.0, 0.9, 0.3, 0.25])
FLAT_WEEK = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.1])
#: Country -> UTC offset (hours, April) used to place local-time behaviour.
TZ = {
    "US": -5,
    "CA": -5,
    "GB": 1,
    "DE": 2,
    "FR": 2,
    "NL": 2,
    "ES": 2,
    "IN": 5.5,
    "JP": 9,
    "KR": 9,
    "AU": 10,
    "BR": -3,
    "SG": 8,
    "CN": 8,
    "HK": 8,
    "PH": 8,
    "KE": 3,
    "PL": 2,
    "IL": 3,
    "MX": -6,
}
COUNTRIES = np.array(list(TZ), dtype=object)
#: Rough share of API signups per country for ordinary users.
COUNTRY_P = np.array([30, 4, 6, 5, 4, 2, 2, 9, 4, 3, 2, 4, 2, 1, 1, 2, 1, 2, 1, 2], dtype=float)

#: Client library -> (user agent, JA4 TLS fingerprint). JA4 strings keep the real
#: ``t13d<ciphers><exts><alpn>_<hash>_<hash>`` shape; libraries on one TLS stack share one.
CLIENTS = {
    "py_openai": ("OpenAI/Python 1.54.4", "t13d1812h2_e8a523a41297_7b1e2ba3ec4c"),
    "py_openai_old": ("OpenAI/Python 1.35.13", "t13d1812h2_e8a523a41297_7b1e2ba3ec4c"),
    "js_openai": ("OpenAI/JS 4.71.1", "t13d1516h2_8daaf6152771_02713d6af862"),
    "httpx": ("python-httpx/0.27.2", "t13d1812h2_e8a523a41297_7b1e2ba3ec4c"),
    "requests": ("python-requests/2.32.3", "t13d1811h1_e8a523a41297_6e5b6c8e3a72"),
    # A browser user agent over a Python TLS stack: what scripted clients that spoof
    # their UA to look human actually present.
    "chrome_spoof": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36",
        "t13d1812h2_e8a523a41297_7b1e2ba3ec4c",
    ),
    "curl": ("curl/8.5.0", "t13d3112h2_e8f1e7e78f70_375bd5b9ab1a"),
    "go": ("Go-http-client/2.0", "t13d1310h2_c3f8ec5a2b7e_a5ac2d2a9d90"),
    "chrome": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36",
        "t13d1516h2_8daaf6152771_b0da82dd1658",
    ),
    "safari": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.6 Safari/605.1.15",
        "t13d2014h2_a09f3c656075_14788d8d241b",
    ),
    "langchain": ("langchain-openai/0.2.9 OpenAI/Python 1.54.4", "t13d1812h2_e8a523a41297_7b1e2ba3ec4c"),
    "llamaindex": (
        "llama-index-llms-openai/0.2.16 OpenAI/Python 1.51.0",
        "t13d1812h2_e8a523a41297_7b1e2ba3ec4c",
    ),
    "crewai": ("crewai/0.80.0 litellm/1.52.0", "t13d1812h2_e8a523a41297_7b1e2ba3ec4c"),
    "autogen": ("autogen-ext/0.4.0 OpenAI/Python 1.54.4", "t13d1812h2_e8a523a41297_7b1e2ba3ec4c"),
    "n8n": ("n8n/1.68.0 axios/1.7.7", "t13d1516h2_8daaf6152771_02713d6af862"),
    "inspect": ("inspect_ai/0.3.52 OpenAI/Python 1.54.4", "t13d1812h2_e8a523a41297_7b1e2ba3ec4c"),
    "lm_eval": ("lm-eval/0.4.5 OpenAI/Python 1.40.0", "t13d1812h2_e8a523a41297_7b1e2ba3ec4c"),
}


def client_cols(names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(user agent, JA4) object arrays for an array of client names."""
    ua = {k: v[0] for k, v in CLIENTS.items()}
    ja = {k: v[1] for k, v in CLIENTS.items()}
    return np.array([ua[x] for x in names], dtype=object), np.array([ja[x] for x in names], dtype=object)


def hexes(rng: np.random.Generator, n: int, prefix: str, width: int = 12) -> np.ndarray:
    """``n`` distinct random hex ids; a random id says nothing about who made it."""
    v = rng.integers(0, 1 << (4 * width), size=n, dtype=np.uint64 if width > 15 else np.int64)
    while len(np.unique(v)) < n:
        v = np.unique(np.concatenate([v, rng.integers(0, 1 << (4 * width), size=n)]))[:n]
        rng.shuffle(v)
    return np.char.add(prefix, np.char.mod(f"%0{width}x", v.astype(np.int64))).astype(object)


@dataclass
class Block:
    """One population: per-account arrays (length A) and per-request arrays (length N).

    ``accounts`` keys: ``persona``, ``is_attack``, ``campaign``, ``created_us``, ``tier``,
    ``country``, ``payment`` (None = no card on file), ``source`` (log source, see
    `_h3_frame.SOURCES`), ``client`` (default client library). ``events`` keys: ``acct``
    (index into accounts), ``ts`` (int64 us) and any event column; `_h3_frame` fills the rest.
    """

    accounts: dict[str, Any]
    events: dict[str, Any]

    @property
    def n_events(self) -> int:
        return len(self.events["acct"])


def accounts(
    persona: str,
    n: int,
    *,
    attack: bool,
    campaign: Any = None,
    created_us: np.ndarray,
    tier: Any,
    country: Any,
    payment: Any,
    source: Any = "full",
    client: Any = "py_openai",
) -> dict[str, Any]:
    """Per-account arrays; scalars are broadcast."""

    def b(v: Any) -> np.ndarray:
        a = np.asarray(v, dtype=object)
        return np.full(n, v, dtype=object) if a.ndim == 0 else a

    return {
        "persona": np.full(n, persona, dtype=object),
        "is_attack": np.full(n, attack),
        "campaign": b(campaign),
        "created_us": np.asarray(np.broadcast_to(created_us, (n,)), dtype=np.int64),
        "tier": b(tier),
        "country": b(country),
        "payment": b(payment),
        "source": b(source),
        "client": b(client),
    }


def counts(
    rng: np.random.Generator, n: int, mean: float, *, shape: float = 1.0, lo: int = 1, hi: int = 5000
) -> np.ndarray:
    """Per-account request counts: gamma-mixed Poisson (heavy-tailed like real usage)."""
    lam = rng.gamma(shape, mean / shape, size=n)
    return np.clip(rng.poisson(lam), lo, hi).astype(np.int64)


def expand(n_per: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(account index per event, rank of the event within its account)."""
    acct = np.repeat(np.arange(len(n_per)), n_per)
    starts = np.repeat(np.cumsum(n_per) - n_per, n_per)
    return acct, np.arange(len(acct)) - starts


def local_offset_us(country: np.ndarray) -> np.ndarray:
    return (np.array([TZ.get(c, 0) for c in country], dtype=float) * HOUR_US).astype(np.int64)


def human_times(
    rng: np.random.Generator,
    acct: np.ndarray,
    rank: np.ndarray,
    tz_us: np.ndarray,
    *,
    week: np.ndarray = WORK_WEEK,
    session_len: float = 6.0,
    think_median_s: float = 45.0,
    hours: np.ndarray = HUMAN_HOURS,
    first_day: int = 0,
) -> np.ndarray:
    """Sessions of a person: a local-time start drawn from ``hours``/``week``, then think
    times (lognormal, median ``think_median_s``) between consecutive requests."""
    n_acct = int(acct.max()) + 1 if len(acct) else 0
    slen = np.maximum(1, rng.geometric(1 / session_len, size=n_acct))
    sess = rank // slen[acct]
    key = acct.astype(np.int64) * 10_000 + sess
    uniq, inv = np.unique(key, return_inverse=True)
    days = np.arange(first_day, DAYS)
    w = week[days % 7] / week[days % 7].sum()
    day = rng.choice(days, size=len(uniq), p=w)
    hour = rng.choice(24, size=len(uniq), p=hours / hours.sum())
    start = START_US + day * DAY_US + hour * HOUR_US + rng.integers(0, HOUR_US, size=len(uniq))
    start = start - tz_us[uniq // 10_000]
    think = (think_median_s * US * np.exp(0.9 * rng.standard_normal(len(acct)))).astype(np.int64)
    order = np.lexsort((rank, inv))
    cs = np.cumsum(think[order])
    first = np.r_[True, inv[order][1:] != inv[order][:-1]]
    base = np.maximum.accumulate(np.where(first, cs - think[order], 0))
    off = np.empty_like(cs)
    off[order] = cs - base - think[order]
    return start[inv] + off


def periodic_times(
    rng: np.random.Generator,
    acct: np.ndarray,
    rank: np.ndarray,
    period_us: np.ndarray,
    jitter_us: float,
    start_us: np.ndarray,
) -> np.ndarray:
    """Cron-like requests: ``start + rank * period`` plus small jitter."""
    t = start_us[acct] + rank * period_us[acct] + (rng.random(len(acct)) * jitter_us).astype(np.int64)
    return t


def curve_times(
    rng: np.random.Generator,
    acct: np.ndarray,
    curves: list[np.ndarray],
    pick: np.ndarray,
    day_shift: np.ndarray,
) -> np.ndarray:
    """Timestamps that follow a real ServeGen client's 600 s rate curve (3 days, tiled)."""
    out = np.empty(len(acct), dtype=np.int64)
    for a in np.unique(acct):
        sel = np.flatnonzero(acct == a)
        c = curves[int(pick[a])]
        c = np.roll(np.tile(c, 3)[: DAYS * 144], int(day_shift[a]) * 144)
        c = c + 1e-9
        w = rng.choice(len(c), size=len(sel), p=c / c.sum())
        out[sel] = START_US + w * 600 * US + rng.integers(0, 600 * US, size=len(sel))
    return out


def pick(rng: np.random.Generator, pool: np.ndarray, n: int, p: np.ndarray | None = None) -> np.ndarray:
    return pool[rng.choice(len(pool), size=n, p=p)]


def tokens_of(text: np.ndarray) -> np.ndarray:
    """Input tokens of a prompt: ~4 characters per token (the usual BPE rule of thumb)."""
    return (
        np.fromiter((len(t) if t is not None else 0 for t in text), dtype=np.int64, count=len(text)) // 4
    ) + 8


def join(*parts: np.ndarray | str) -> np.ndarray:
    """Element-wise string concatenation of object arrays and scalars."""
    out = np.asarray(parts[0], dtype=object)
    for p in parts[1:]:
        out = out + np.asarray(p, dtype=object)
    return out


def created_between(rng: np.random.Generator, n: int, lo_days_ago: float, hi_days_ago: float) -> np.ndarray:
    """Account creation times uniformly between two ages (days before the window)."""
    age = rng.uniform(lo_days_ago, hi_days_ago, size=n)
    return (START_US - age * DAY_US).astype(np.int64)
