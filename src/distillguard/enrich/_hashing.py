"""Stable 64-bit hashes that do not change across processes, versions or machines.

Template ids and word hashes are compared across batches, runs and (keyed) across
providers, so Python's salted ``hash()`` and engine-specific hashes (DuckDB's
``hash()`` may change between releases) are out: BLAKE2b with an 8-byte digest,
computed once per distinct value, broadcast back with ``take``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def blake64_unique(values: list[str], person: bytes = b"") -> np.ndarray:
    """BLAKE2b-64 of each string as ``int64`` (one Python call per *distinct* value)."""
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        digest = hashlib.blake2b(v.encode("utf-8", "surrogatepass"), digest_size=8, person=person).digest()
        out[i] = int.from_bytes(digest, "little", signed=True)
    return out


def hash_strings(texts: pa.Array | pa.ChunkedArray, person: bytes = b"") -> pa.Array:
    """Per-row stable int64 hash of a string array; nulls stay null.

    ``person`` separates hash domains (template vs frame ids) so equal strings in
    different roles never collide on purpose.
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    encoded = pc.dictionary_encode(texts.cast(pa.string()))
    uniq = blake64_unique(encoded.dictionary.to_pylist(), person)
    return pa.array(uniq, pa.int64()).take(encoded.indices)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a fast, well-mixed, deterministic ``uint64 -> uint64``."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def combine64(acc: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Order-sensitive combination of two uint64 arrays (for shingles and LSH bands)."""
    with np.errstate(over="ignore"):
        return splitmix64((acc * np.uint64(0x100000001B3)) ^ value.astype(np.uint64))
