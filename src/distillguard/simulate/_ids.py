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
    """``prefix`` + 16 lowercase hex digits of each uint64, as a string array.

    Every id has the same width, so the bytes are laid out in one numpy block and
    wrapped as an Arrow string array without any per-element work.
    """
    v = np.ascontiguousarray(np.asarray(values, dtype=">u8"))
    n = len(v)
    head = prefix.encode()
    width = len(head) + 16
    raw = np.empty((n, width), dtype=np.uint8)
    raw[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    raw[:, len(head) :] = _HEX_LUT[v.view(np.uint8).reshape(-1, 8)].view(np.uint8).reshape(n, 16)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(raw))


def ids_for(prefix: str, base_key: np.uint64, counters: np.ndarray) -> pa.Array:
    """Unique ids for ``counters`` (distinct non-negative ints) under one base key."""
    c = np.asarray(counters, dtype=np.uint64)
    return hex_ids(prefix, mix64(c ^ np.uint64(base_key)))


def ipv4_strings(addrs: np.ndarray) -> pa.Array:
    """Dotted-quad strings for IPv4 addresses (any unsigned dtype), built column-wise in Arrow."""
    a = np.asarray(addrs).astype(np.uint32)
    parts = [_OCTETS.take(pa.array((a >> np.uint32(s)) & np.uint32(0xFF))) for s in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*parts, ".")


_HEX16: pa.Array | None = None
#: An IPv6 text with a run of two or more zero groups must be compressed with "::" (RFC 5952).
_ZERO_RUN = r"(^|:)0:0(:|$)"


def ipv6_strings(hi: np.ndarray, lo: np.ndarray) -> pa.Array:
    """RFC 5952 text of IPv6 addresses given as upper / lower 64-bit halves (column-wise)."""
    global _HEX16
    if _HEX16 is None:
        _HEX16 = pa.array([f"{i:x}" for i in range(1 << 16)])
    hi = np.asarray(hi, dtype=np.uint64)
    lo = np.asarray(lo, dtype=np.uint64)
    groups = [
        _HEX16.take(pa.array(((half >> np.uint64(s)) & np.uint64(0xFFFF)).astype(np.int64)))
        for half in (hi, lo)
        for s in (48, 32, 16, 0)
    ]
    out = pc.binary_join_element_wise(*groups, ":")
    runs = np.flatnonzero(pc.match_substring_regex(out, _ZERO_RUN).to_numpy(zero_copy_only=False))
    if len(runs):  # rare (random interface ids, real prefixes): canonicalize those rows only
        import ipaddress

        fixed = [str(ipaddress.IPv6Address(t)) for t in out.take(pa.array(runs)).to_pylist()]
        mask = np.zeros(len(out), dtype=bool)
        mask[runs] = True
        out = pc.replace_with_mask(out, pa.array(mask), pa.array(fixed, pa.string()))
    return out


def ip_strings(codes: np.ndarray, iid_keys: np.ndarray) -> pa.Array:
    """Text of address codes: IPv4 (< 2**32) as dotted quads; IPv6 /64 codes plus an interface id.

    ``iid_keys`` (one per address) seed the 64-bit interface id of IPv6 clients, so a
    client's temporary address changes when its key does (per account and day, like
    RFC 8981 privacy addresses). Each distinct address is formatted once, then taken.
    """
    codes = np.asarray(codes, dtype=np.uint64)
    v6 = codes >= np.uint64(1 << 32)
    u4, inv4 = np.unique(codes[~v6], return_inverse=True)
    parts = [ipv4_strings(u4)]
    index = np.empty(len(codes), dtype=np.int64)
    index[~v6] = inv4
    if v6.any():
        # The interface id mixes in the /64, so it identifies the whole address (2**-64 odds
        # of a clash, checked below and resolved by the exact path).
        c6 = codes[v6]
        iid = mix64(np.asarray(iid_keys, dtype=np.uint64)[v6] ^ c6)
        u6, first, inv6 = np.unique(iid, return_index=True, return_inverse=True)
        if not np.array_equal(c6[first][inv6], c6):
            u6, first, inv6 = iid, np.arange(len(c6)), np.arange(len(c6))
        parts.append(ipv6_strings(c6[first], u6))
        index[v6] = len(u4) + inv6
    text = pa.concat_arrays(parts) if len(parts) > 1 else parts[0]
    return text.take(pa.array(index))


def ipv4_to_int(text: str) -> int:
    """Parse one dotted quad (used when loading prefix tables, not per event)."""
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d
