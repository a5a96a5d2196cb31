"""Persona base class: accounts, request volumes, arrival times, chunked event batches.

A persona owns its accounts for the whole run; events are produced per chunk of
accounts (bounded size) so memory stays flat whatever the scenario scale. Subclasses
override :meth:`customize` (account structure) and :meth:`batches` (timing and any
per-event overrides); the generic assembly lives in ``_events``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from distillguard.simulate._accounts import Accounts, allocate_counts, make_accounts
from distillguard.simulate._events import Chunk
from distillguard.simulate._ids import mix64
from distillguard.simulate._profile import Profile
from distillguard.simulate._timing import load_balanced_times, session_times, steady_times
from distillguard.simulate._world import World


class Persona:
    """A population of accounts that behave alike (see ``Profile``)."""

    def __init__(
        self, profile: Profile, accounts: int, events: int, salt: int, campaign: str | None = None
    ) -> None:
        self.profile = profile
        self.n_accounts = int(accounts)
        self.n_events = int(events)
        self.salt = salt
        self.campaign = campaign

    @property
    def name(self) -> str:
        return self.profile.name

    def build(self, world: World, rng: np.random.Generator) -> Accounts:
        acc = make_accounts(world, self.profile, rng, self.n_accounts, self.salt)
        if self.profile.is_attack:
            acc.campaign[:] = self.campaign
        self.customize(world, rng, acc)
        return acc

    def customize(self, world: World, rng: np.random.Generator, acc: Accounts) -> None:
        """Hook: give the accounts their persona's structure (cards, NATs, lifetimes)."""

    def counts(self, rng: np.random.Generator, acc: Accounts) -> np.ndarray:
        return allocate_counts(rng, acc.weight, self.n_events)

    def times(
        self, world: World, rng: np.random.Generator, acc: Accounts, idx: np.ndarray, counts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Arrival seconds and session numbers for accounts ``idx`` with ``counts`` each."""
        spec = self.profile.timing
        if spec.mode == "load_balanced":
            lo, hi = float(acc.lo_h[idx].min()), float(acc.hi_h[idx].max())
            t = load_balanced_times(
                rng, world.clock, counts, lo, hi, spec, utc_offset=int(acc.tz[idx][0]) - 11
            )
            return t, np.arange(len(t))
        keys = acc.key[idx]
        if spec.mode == "steady":
            return steady_times(
                rng, world.clock, counts, acc.lo_h[idx], acc.hi_h[idx], acc.tz[idx], spec, keys=keys
            )
        scale = session_scale(keys)
        return session_times(
            rng,
            world.clock,
            counts,
            acc.lo_h[idx],
            acc.hi_h[idx],
            acc.tz[idx],
            spec,
            session_scale=scale,
            keys=keys,
        )

    def batches(
        self,
        world: World,
        rng: np.random.Generator,
        acc: Accounts,
        idx: np.ndarray,
        counts: np.ndarray,
        index: int,
    ) -> list[tuple[Profile, Chunk]]:
        """Event batches for one chunk of accounts (most personas: exactly one)."""
        t, sess = self.times(world, rng, acc, idx, counts)
        return [(self.profile, Chunk(acc=np.repeat(idx, counts), t_s=t, sess=sess, index=index))]


#: Log-normal sigma of the per-account multiplier on mean session length (habits differ:
#: widens the per-account CV distribution towards ServeGen's 3-16 spread).
SESSION_SCALE_SIGMA = 0.6


def session_scale(keys: np.ndarray) -> np.ndarray:
    """A stable per-account session-length multiplier derived from the account key."""
    u = (mix64(keys ^ np.uint64(0x5E55)).astype(np.float64) + 0.5) / 2.0**64
    return np.exp(SESSION_SCALE_SIGMA * np.log(u / (1 - u)) / 1.702)


def chunk_accounts(counts: np.ndarray, chunk_events: int) -> Iterator[np.ndarray]:
    """Consecutive account index groups holding about ``chunk_events`` requests each."""
    n = len(counts)
    start = 0
    csum = np.cumsum(counts)
    while start < n:
        base = csum[start - 1] if start else 0
        stop = int(np.searchsorted(csum, base + chunk_events, side="right"))
        stop = max(stop, start + 1)
        yield np.arange(start, min(stop, n))
        start = stop
