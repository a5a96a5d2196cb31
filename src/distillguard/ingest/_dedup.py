"""Bounded-memory sets of strings seen in a run (event ids, account ids).

A run may see 50M event ids; holding the strings would take several GB. We keep
64-bit hashes instead (8 bytes each: 400 MB at 50M) in a few sorted numpy arrays
that are merged like an LSM tree (a level is merged into the one below when it
grows past half its size), so inserts are amortised O(log n) and lookups are
binary searches, all vectorized.

Duplicates are found on the hash, within a batch and across batches alike (one
stable argsort per batch serves both). Two different ids share a 64-bit hash with
probability about n^2 / 2^65 for a whole run (7e-5 at 50M ids): such a row would be
quarantined as ``duplicate_event_id`` with its raw content kept, never dropped
silently.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

#: Seed of the string hash; fixed so a run is reproducible.
HASH_SEED = 0x5EED_0001


def hash64(values: pa.Array) -> np.ndarray:
    """Seeded 64-bit hashes of a string array (nulls hash to a fixed value)."""
    import polars as pl

    if len(values) == 0:
        return np.zeros(0, dtype=np.uint64)
    series = pl.Series(values=values.cast(pa.large_string()))
    return series.hash(seed=HASH_SEED).to_numpy()


def _sorted_unique(values: np.ndarray, *, presorted_runs: bool = False) -> np.ndarray:
    """``np.unique`` by sorting (numpy 2's hash-based unique is several times slower here).

    Two concatenated sorted runs merge in linear time with the stable (timsort) sort.
    """
    ordered = np.sort(values, kind="stable" if presorted_runs else "quicksort")
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


class HashSet64:
    """A growing set of uint64 hashes held as sorted, merged levels."""

    def __init__(self) -> None:
        self._levels: list[np.ndarray] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def _push(self, sorted_unique: np.ndarray) -> None:
        """Add a sorted array of new members as a level; merge levels of similar size."""
        if len(sorted_unique) == 0:
            return
        self._levels.append(sorted_unique)
        self._size += len(sorted_unique)
        while len(self._levels) >= 2 and len(self._levels[-1]) * 2 >= len(self._levels[-2]):
            top = self._levels.pop()
            below = self._levels.pop()
            merged = _sorted_unique(np.concatenate((below, top)), presorted_runs=True)
            self._size -= len(below) + len(top) - len(merged)
            self._levels.append(merged)

    def add_new(self, hashes: np.ndarray) -> np.ndarray:
        """Insert ``hashes``; True where an element is new: not a member before and the
        first of its value in ``hashes`` (input order), so later copies are False."""
        n = len(hashes)
        if n == 0:
            return np.zeros(0, dtype=bool)
        order = np.argsort(hashes, kind="stable")  # stable: input order within equal values
        ordered = hashes[order]
        fresh = np.empty(n, dtype=bool)
        fresh[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=fresh[1:])
        for level in self._levels:  # sorted queries walk each level in order
            pos = np.minimum(np.searchsorted(level, ordered), len(level) - 1)
            fresh &= level[pos] != ordered
        self._push(ordered[fresh])
        mask = np.empty(n, dtype=bool)
        mask[order] = fresh
        return mask

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Membership mask for ``hashes`` (without inserting)."""
        found = np.zeros(len(hashes), dtype=bool)
        for level in self._levels:
            pos = np.minimum(np.searchsorted(level, hashes), len(level) - 1)
            found |= level[pos] == hashes
        return found

    @property
    def nbytes(self) -> int:
        return sum(level.nbytes for level in self._levels)
