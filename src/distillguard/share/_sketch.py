"""Keyed MinHash sketches of prompt templates, and LSH banding to match them.

A plain MinHash of a prompt template can be probed by anyone: hash a guessed prompt,
compare. Two layers stop that. The permutations are seeded from the group key, and each
signature slot then goes through HMAC-SHA256 under the group key (slot index
included), so a slot value says nothing without the key even to someone who knows one
template and its sketch. Equality of slots survives the keyed map, so the fraction of
equal slots still estimates Jaccard similarity between templates of two providers.

Matching uses LSH banding: the ``num_perm`` slots are cut into ``bands`` bands of
``num_perm // bands`` rows; two templates become a candidate pair when any band is
identical, then the candidate's Jaccard estimate must reach ``min_jaccard``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa

from distillguard.share._hashing import DOMAIN_PREFIX, arrow, duck, hmac_params, hmac_sql


@dataclass(frozen=True)
class SketchParams:
    """How template sketches are built and matched; partners must agree on all but the threshold."""

    num_perm: int = 64
    """MinHash slots per template (more slots: finer Jaccard estimate, bigger bundles)."""
    bands: int = 16
    """LSH bands; with 64 slots, 16 bands of 4 rows make pairs at Jaccard 0.7 candidates
    with probability ~0.99 and pairs at 0.3 with probability ~0.12."""
    min_jaccard: float = 0.7
    """Estimated Jaccard similarity a candidate pair needs to count as the same template."""
    frame_words: int = 4
    """Words at each end of a normalized prompt that make its instruction frame (kind
    ``frame``). Harvest wrappers ("Let's think step by step.", "Could you walk me through")
    are a few words long; four words reach little into the varying payload, which is public
    benchmark text that benign evaluators send too. Partners must agree on it."""

    def __post_init__(self) -> None:
        if self.num_perm <= 0 or self.bands <= 0 or self.num_perm % self.bands:
            raise ValueError("num_perm must be a positive multiple of bands")
        if not 0.0 < self.min_jaccard <= 1.0:
            raise ValueError("min_jaccard must be in (0, 1]")
        if self.frame_words < 1:
            raise ValueError("frame_words must be >= 1")

    @property
    def rows(self) -> int:
        return self.num_perm // self.bands

    def protocol(self) -> dict[str, object]:
        """What a partner needs to compare sketches (the threshold is each side's choice)."""
        d = asdict(self)
        d.pop("min_jaccard")
        d.pop("frame_words")
        d["normalizer"] = normalizer_id()
        return d

    def frame_protocol(self) -> dict[str, object]:
        """What a partner needs to compute the same frames (kind ``frame``)."""
        return {"words": self.frame_words, "normalizer": normalizer_id()}


#: Which template normalizer sketches are built with; partners compare it before matching.
NORMALIZER_ID = "enrich.prompts.normalize_templates"


def normalizer_id() -> str:
    """Which template normalizer is in use (enrich's)."""
    return NORMALIZER_ID


def normalize_templates(texts: pa.Array) -> pa.Array:
    """Prompt -> template text via ``enrich.prompts`` (one normalizer for scan and sharing)."""
    from distillguard.enrich.prompts import normalize_templates as enrich_normalize

    out = enrich_normalize(texts)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _minhash(templates: pa.Array, num_perm: int, seed: int) -> np.ndarray:
    from distillguard.enrich.prompts import minhash_signatures

    return np.asarray(minhash_signatures(templates, num_perm=num_perm, seed=seed), dtype=np.uint64)


def key_seed(secret: bytes) -> int:
    """MinHash seed derived from the group key (so the permutations themselves are secret)."""
    digest = hmac.new(secret, (DOMAIN_PREFIX + "minhash-seed").encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big")


def keyed_signatures(templates: pa.Array, secret: bytes, params: SketchParams) -> np.ndarray:
    """``(n, num_perm)`` uint64 keyed MinHash of normalized, non-null template texts."""
    n = len(templates)
    if n == 0:
        return np.empty((0, params.num_perm), dtype=np.uint64)
    raw = _minhash(templates, params.num_perm, key_seed(secret))
    rec = np.empty(raw.shape, dtype=[("slot", ">u2"), ("value", ">u8")])
    rec["slot"] = np.arange(params.num_perm, dtype=np.uint16)[None, :]
    rec["value"] = raw
    blobs = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(10), rec.size, [None, pa.py_buffer(rec.tobytes())]
    ).cast(pa.binary())
    con = duck()
    con.register("_dg_slots", pa.table({"b": blobs}))
    sql = f"SELECT ('0x' || left({hmac_sql('encode($domain) || b')}, 16))::UBIGINT AS k FROM _dg_slots"
    params_sql = {**hmac_params(secret), "domain": f"{DOMAIN_PREFIX}minhash\x1f"}
    keyed = arrow(con, sql, params_sql).column("k").to_numpy()
    con.close()
    return keyed.astype(np.uint64).reshape(n, params.num_perm)


_MIX = np.uint64(0x9E3779B97F4A7C15)


def band_keys(signatures: np.ndarray, params: SketchParams) -> np.ndarray:
    """``(n, bands)`` uint64 key per LSH band (a fold of its already-keyed rows)."""
    n = signatures.shape[0]
    rows = signatures.reshape(n, params.bands, params.rows)
    acc = np.broadcast_to(np.arange(params.bands, dtype=np.uint64), (n, params.bands)).copy()
    with np.errstate(over="ignore"):
        for r in range(params.rows):
            acc = (acc ^ rows[:, :, r]) * _MIX
            acc ^= acc >> np.uint64(29)
    return acc


def jaccard_estimate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise share of equal slots between two ``(n, num_perm)`` signature arrays."""
    return (a == b).mean(axis=1)


def signature_to_hex(sig: np.ndarray) -> str:
    """One signature row as hex (16 hex digits per slot, big-endian)."""
    return sig.astype(">u8").tobytes().hex()


def signatures_from_hex(texts: list[str], num_perm: int) -> np.ndarray:
    """Inverse of :func:`signature_to_hex` for many rows; raises ValueError on bad input."""
    if not texts:
        return np.empty((0, num_perm), dtype=np.uint64)
    width = num_perm * 16
    if any(len(t) != width or not re.fullmatch(r"[0-9a-f]+", t) for t in texts):
        raise ValueError(f"signature is not {width} lower-case hex digits")
    buf = bytes.fromhex("".join(texts))
    return np.frombuffer(buf, dtype=">u8").astype(np.uint64).reshape(len(texts), num_perm)
