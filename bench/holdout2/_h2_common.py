"""Shared clock, model line-up and the `Pop` block every persona generator returns.

The window is five days (Mon 2026-03-09 .. Fri 2026-03-13, UTC). Attacks begin on day 2,
so a detector that needs a week of history to act is visibly late. A new model is
released on day 3 at 09:00 UTC; hydra traffic pivots to it within hours, and so do a few
benign early adopters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

US = 1_000_000
HOUR_US = 3600 * US
DAY_US = 24 * HOUR_US
#: First instant of the window (UTC, microseconds since epoch).
START_US = int(datetime(2026, 3, 9, tzinfo=UTC).timestamp()) * US
#: Number of days in the window.
DAYS = 5
END_US = START_US + DAYS * DAY_US
#: Attacks start at the beginning of day 2 (index 1).
ATTACK_START_US = START_US + DAY_US
#: The new model goes live on day 3 at 09:00 UTC.
RELEASE_US = START_US + 2 * DAY_US + 9 * HOUR_US

#: Our provider's model line-up; names deliberately unlike any other generator's.
MODEL_LEGACY = "nimbus-1.5-legacy"  # old, weakly protected: the "defense arbitrage" target
MODEL_MINI = "nimbus-2-mini"
MODEL_STD = "nimbus-2"
MODEL_REASON = "nimbus-2-reason"
MODEL_NEW = "nimbus-3-think"  # released on day 3
PROVIDER = "nimbus-ai"


@dataclass
class Pop:
    """One persona's accounts and requests.

    ``accounts`` holds per-account arrays (length A): ``account_id``, ``tier``,
    ``created_us``, ``country``, ``payment`` (object, None = unknown), ``source``
    (log source, see `_h2_frame.SOURCES`), ``is_attack``, ``campaign``, ``persona``.
    ``events`` holds per-request arrays (length N) with ``acct`` (index into the
    accounts) and whatever event columns the persona sets; the frame fills the rest.
    """

    accounts: dict[str, Any]
    events: dict[str, Any]
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def n_events(self) -> int:
        return len(self.events["acct"])


HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_ids(rng: np.random.Generator, n: int, nbytes: int, prefix: str) -> np.ndarray:
    """``n`` random opaque ids ``prefix + 2*nbytes hex chars`` (vectorized)."""
    raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    chars = np.empty((n, 2 * nbytes), dtype=np.uint8)
    chars[:, 0::2] = HEX[raw >> 4]
    chars[:, 1::2] = HEX[raw & 15]
    body = chars.view(f"S{2 * nbytes}").ravel().astype(str)
    return np.char.add(prefix, body)


def seg_cumsum(values: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Cumulative sum of ``values`` restarting at every new value of sorted ``seg``."""
    c = np.cumsum(values)
    if len(values) == 0:
        return c
    starts = np.r_[0, np.flatnonzero(np.diff(seg)) + 1]
    offset = np.repeat(c[starts] - values[starts], np.diff(np.r_[starts, len(values)]))
    return c - offset


def rank_in_segment(seg: np.ndarray) -> np.ndarray:
    """0-based position of every row inside its run of equal ``seg`` values (sorted)."""
    return seg_cumsum(np.ones(len(seg), dtype=np.int64), seg) - 1


def accounts_block(
    rng: np.random.Generator,
    n: int,
    *,
    persona: str,
    tier: Any,
    created_us: np.ndarray,
    country: Any,
    payment: Any = None,
    source: Any = None,
    is_attack: bool = False,
    campaign: str | None = None,
    account_id: np.ndarray | None = None,
) -> dict[str, Any]:
    """Per-account arrays for a `Pop` (scalars are broadcast)."""

    def arr(v: Any, dtype: Any = object) -> np.ndarray:
        if isinstance(v, np.ndarray):
            return v.astype(dtype) if dtype is object else v
        return np.full(n, v, dtype=dtype)

    return {
        "account_id": account_id if account_id is not None else hex_ids(rng, n, 8, "org_"),
        "tier": arr(tier),
        "created_us": np.asarray(created_us, dtype=np.int64),
        "country": arr(country),
        "payment": arr(payment),
        "source": arr(source),
        "is_attack": np.full(n, is_attack),
        "campaign": np.full(n, campaign, dtype=object),
        "persona": np.full(n, persona, dtype=object),
    }


def cards(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct opaque payment fingerprints (billing tokens, never card numbers)."""
    return hex_ids(rng, n, 10, "pm_").astype(object)


def pick(rng: np.random.Generator, choices: Any, n: int, p: Any = None) -> np.ndarray:
    """``n`` draws from ``choices`` (object array), optionally weighted."""
    choices = np.asarray(choices, dtype=object)
    if p is not None:
        p = np.asarray(p, dtype=float)
        p = p / p.sum()
    return choices[rng.choice(len(choices), size=n, p=p)]


def take_text(pool: pa.Array, idx: np.ndarray) -> pa.Array:
    """Strings of ``pool`` at ``idx`` (an Arrow take: no per-row Python)."""
    return pool.take(pa.array(np.asarray(idx, dtype=np.int64)))
