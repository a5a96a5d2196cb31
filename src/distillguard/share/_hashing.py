"""Keyed hashes of identifiers: HMAC-SHA256 computed inside DuckDB, column at a time.

Why HMAC and not a plain hash: a plain SHA-256 of an IPv4 address is reversed by hashing
all 2^32 addresses; a keyed hash can only be computed by holders of the group key.
Why DuckDB: HMAC is ``H((K ^ opad) || H((K ^ ipad) || m))`` (RFC 2104), and DuckDB's
vectorized ``sha256`` over BLOBs evaluates exactly that for a whole column without a
Python loop (tests pin it against :mod:`hmac`).

Every message is domain-separated (``distillguard/v1/<kind>\\x1f<value>``) so the same
string used as an IP and as a user agent gives unrelated hashes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from distillguard import _duck

if TYPE_CHECKING:
    import duckdb

#: Identifier kinds shared as keyed hashes, and the event column each comes from.
#: ``ip24`` is the IPv4 /24 prefix of ``client_ip`` (rotating proxies stay in a block).
KIND_COLUMNS: dict[str, str] = {
    "payment": "payment_fingerprint",
    "ip": "client_ip",
    "ip24": "client_ip",
    "tls": "tls_fingerprint",
    "ua": "user_agent",
}
#: Instruction frames of prompts (first / last words of the normalized template), keyed like
#: identifiers; built by :mod:`distillguard.share._frames`, not by :func:`canonicalize`.
FRAME_KIND = "frame"
#: Every kind shared as exact keyed hashes, and the event column each is computed from.
SOURCE_COLUMNS: dict[str, str] = {**KIND_COLUMNS, FRAME_KIND: "prompt"}
HASH_KINDS: tuple[str, ...] = tuple(SOURCE_COLUMNS)
#: Version tag inside every HMAC message; bump it if canonicalization ever changes.
DOMAIN_PREFIX = "distillguard/v1/"
_BLOCK = 64  # SHA-256 block size in bytes


def duck() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB connection without progress bars on stderr."""
    return _duck.connect()


def arrow(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pa.Table:
    """Run ``sql`` and return its result as an Arrow table (without DB-API copies)."""
    return con.sql(sql, params=params).to_arrow_table()


def _pads(secret: bytes) -> tuple[bytes, bytes]:
    import hashlib

    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_sql(expr: str) -> str:
    """SQL computing the hex HMAC-SHA256 of BLOB ``expr`` with ``$ipad``/``$opad`` bound."""
    return f"sha256($opad || unhex(sha256($ipad || {expr})))"


def hmac_params(secret: bytes) -> dict[str, bytes]:
    """Bind values for :func:`hmac_sql`."""
    ipad, opad = _pads(secret)
    return {"ipad": ipad, "opad": opad}


def canonicalize(kind: str, values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Canonical text of identifiers, so two providers hash the same thing the same way.

    Trims whitespace, lower-cases IPs (IPv6 hex is case-insensitive), maps empty strings
    to null, and for ``ip24`` keeps only IPv4 addresses as ``a.b.c.0/24`` (IPv6 is left
    null rather than guessing a prefix length).
    """
    if kind not in KIND_COLUMNS:
        raise ValueError(f"unknown hash kind {kind!r}")
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    if kind in ("ip", "ip24"):
        text = pc.utf8_lower(text)
    if kind == "ip24":
        is_v4 = pc.match_substring_regex(text, r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
        prefix = pc.replace_substring_regex(text, r"^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$", r"\1.0/24")
        text = pc.if_else(is_v4, prefix, pa.scalar(None, pa.string()))
    empty = pc.equal(pc.utf8_length(text), 0)
    return pc.if_else(empty, pa.scalar(None, pa.string()), text)


def keyed_hashes(
    values: pa.Array | pa.ChunkedArray,
    secret: bytes,
    kind: str,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.ChunkedArray:
    """Hex HMAC-SHA256 of each canonicalized value under ``secret``; null stays null."""
    return hash_canonical(canonicalize(kind, values), secret, kind, con=con)


def hash_canonical(
    canon: pa.Array | pa.ChunkedArray,
    secret: bytes,
    kind: str,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.ChunkedArray:
    """Hex HMAC-SHA256 of values already passed through :func:`canonicalize`."""
    con = con or duck()
    table = pa.table({"v": canon})
    con.register("_dg_values", table)
    try:
        sql = f"SELECT {hmac_sql('encode($domain || v)')} AS h FROM _dg_values"
        params = {**hmac_params(secret), "domain": f"{DOMAIN_PREFIX}{kind}\x1f"}
        out = arrow(con, sql, params)
    finally:
        con.unregister("_dg_values")
    return out.column("h")
