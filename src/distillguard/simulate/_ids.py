"""Vectorized identifiers and address formatting.

Every id the simulator writes (events, accounts, keys, payment instruments) is the
hex image of a bijective 64-bit mix of a structured counter, so ids are unique by
construction, look random (they must not leak the persona that made them) and are
reproducible from the seed. All helpers work on whole numpy arrays: the simulator
never formats one id per Python loop iteration on a hot path.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)

_HEX_LUT = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2").view(np.uint16)
_OCTETS = pa.array([str(i) for i in range(256)])


def mix64(x: np.ndarray | int) -> np.ndarray:
    """SplitMix64 finalizer: a bijection on uint64, so distinct inputs give distinct ids."""
    z = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = z + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    return z


def key64(seed: int, *parts: int) -> np.uint64:
    """Fold a seed and small integers into one well-mixed 64-bit key (scalar)."""
    k = mix64(np.uint64(seed & 0xFFFFFFFFFFFFFFFF))
    for p in parts:
        k = mix64(np.uint64(int(k) ^ (p & 0xFFFFFFFFFFFFFFFF)))
    return np.uint64(int(k))


def hex_ids(prefix: str, values: np.ndarray) -> pa.Array:
    """``prefix`` + 16 lowercase hex digits of each uint64, as a string array."""
    v = np.ascontiguousarray(np.asarray(values, dtype=">u8"))
    pairs = _HEX_LUT[v.view(np.uint8).reshape(-1, 8)]
    raw = np.ascontiguousarray(pairs).view("S16").reshape(-1)
    body = pa.array(raw, type=pa.binary(16)).cast(pa.string())
    if not prefix:
        return body
    return pc.binary_join_element_wise(pa.scalar(prefix), body, "")


def ids_for(prefix: str, base_key: np.uint64, counters: np.ndarray) -> pa.Array:
    """Unique ids for ``counters`` (distinct non-negative ints) under one base key."""
    c = np.asarray(counters, dtype=np.uint64)
    return hex_ids(prefix, mix64(c ^ np.uint64(base_key)))


def ipv4_strings(addrs: np.ndarray) -> pa.Array:
    """Dotted-quad strings for uint32 addresses, built column-wise in Arrow."""
    a = np.asarray(addrs, dtype=np.uint32)
    parts = [_OCTETS.take(pa.array((a >> np.uint32(s)) & np.uint32(0xFF))) for s in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*parts, ".")


def ipv4_to_int(text: str) -> int:
    """Parse one dotted quad (used when loading prefix tables, not per event)."""
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d
