"""MinHash signatures over word shingles (rensa) and banded-LSH template families.

Shingles are built without per-row Python: words are split with pyarrow, each
distinct word is hashed once (BLAKE2b-64, stable), and k-word shingles are
combined with numpy over the flat word array. rensa then computes all
signatures from one flat buffer (``digest_matrix_from_flat_token_hashes``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.enrich._hashing import blake64_unique, combine64, splitmix64
from distillguard.errors import DistillguardError

#: Permutations per signature: 64 gives a Jaccard estimate with std. error ~0.06.
DEFAULT_NUM_PERM = 64
#: Words per shingle: 3-word shingles ignore word-bag coincidences yet survive
#: light paraphrase (one changed word breaks only 3 shingles).
DEFAULT_SHINGLE = 3
#: LSH banding (16 bands x 4 rows = 64): two templates share a band with
#: probability 1-(1-J^4)^16, about 0.5 at Jaccard J=0.5 and > 0.96 at J=0.7.
DEFAULT_BANDS = 16
DEFAULT_ROWS = 4

_CJK = r"([\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}])"


def word_tokens(normalized: pa.Array) -> pa.Array:
    """Single-space separated words; CJK characters become one word each."""
    spaced = pc.replace_substring_regex(normalized, _CJK, r" \1 ")
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(spaced, r"\s+", " "))


def _shingle_hashes(normalized: pa.Array, shingle: int) -> tuple[np.ndarray, np.ndarray]:
    """(flat shingle hashes uint64, row offsets uint64) for non-null normalised texts."""
    words = pc.utf8_split_whitespace(word_tokens(normalized))
    lengths = pc.fill_null(pc.list_value_length(words), 0).to_numpy().astype(np.int64)
    flat = pc.list_flatten(words)
    encoded = pc.dictionary_encode(flat)
    word_hash = blake64_unique(encoded.dictionary.to_pylist(), b"dg-word").view(np.uint64)
    h = word_hash[encoded.indices.to_numpy()] if len(flat) else np.zeros(0, np.uint64)
    counts = np.where(lengths > 0, np.maximum(lengths - shingle + 1, 1), 0)
    row_start = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lengths) else lengths
    row_end = row_start + lengths
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(lengths)), counts)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else counts
    starts = row_start[owner] + (np.arange(total) - first[owner])
    acc = np.zeros(total, dtype=np.uint64)
    last = max(len(h) - 1, 0)
    for t in range(shingle):
        idx = starts + t
        inside = idx < row_end[owner]
        val = np.where(inside, h[np.minimum(idx, last)] if len(h) else 0, np.uint64(0))
        acc = combine64(acc, val.astype(np.uint64))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64)
    return acc, offsets


def minhash_signatures(
    texts: pa.Array | pa.ChunkedArray | list[str | None],
    num_perm: int = DEFAULT_NUM_PERM,
    seed: int = 0,
    *,
    shingle: int = DEFAULT_SHINGLE,
    normalized: bool = False,
) -> np.ndarray:
    """``(n, num_perm)`` uint64 MinHash signatures of the normalised texts.

    Computed on distinct normalised texts only and broadcast back. Null and empty
    texts get the all-max signature (no shingles), which matches only itself.
    ``normalized=True`` skips normalisation when the caller already did it.
    """
    from rensa import RMinHash

    from distillguard.enrich.prompts import _as_string_array, normalize_templates

    if num_perm < 1 or shingle < 1:
        raise DistillguardError(f"num_perm and shingle must be >= 1 (got {num_perm}, {shingle})")
    norm = _as_string_array(texts) if normalized else normalize_templates(texts)
    encoded = pc.dictionary_encode(pc.fill_null(norm, ""))
    hashes, offsets = _shingle_hashes(encoded.dictionary, shingle)
    matrix = RMinHash.digest_matrix_from_flat_token_hashes(hashes, offsets, num_perm, seed)
    unique_sigs = np.asarray(matrix.to_rows(), dtype=np.uint64).reshape(-1, num_perm)
    return unique_sigs[encoded.indices.to_numpy()]


def _band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    keys = np.zeros((signatures.shape[0], bands), dtype=np.uint64)
    for b in range(bands):
        acc = np.full(signatures.shape[0], np.uint64(b), dtype=np.uint64)
        for r in range(rows):
            acc = combine64(acc, signatures[:, b * rows + r])
        keys[:, b] = acc
    return keys


def lsh_family_ids(
    signatures: np.ndarray, bands: int = DEFAULT_BANDS, rows: int = DEFAULT_ROWS
) -> np.ndarray:
    """Family id per row: connected components of "shares at least one LSH band".

    Union-find runs over *distinct* signatures with vectorized min-label
    propagation and pointer jumping. The id of a family is the smallest 64-bit
    key of its member signatures, so it does not depend on row order and a
    template alone in its family keeps the same id in every batch.
    """
    return lsh_families(*lsh_keys(signatures, bands, rows))


def lsh_keys(
    signatures: np.ndarray, bands: int = DEFAULT_BANDS, rows: int = DEFAULT_ROWS
) -> tuple[np.ndarray, np.ndarray]:
    """(band keys ``(n, bands)``, row key ``(n,)``) of each signature: all :func:`lsh_families`
    needs. A function of one signature alone, so a state can keep it per text (16 words
    instead of the 64-word signature) and cluster old and new texts together later."""
    sig = np.asarray(signatures, dtype=np.uint64)
    if sig.ndim != 2:
        raise DistillguardError(f"signatures must be a 2-D array, got shape {sig.shape}")
    if bands < 1 or rows < 1 or bands * rows > sig.shape[1]:
        raise DistillguardError(
            f"LSH needs bands*rows <= num_perm (bands={bands}, rows={rows}, num_perm={sig.shape[1]})"
        )
    keys = _band_keys(sig, bands, rows)
    if sig.shape[0] == 0:
        return keys, np.zeros(0, dtype=np.uint64)
    row_key = keys[:, 0].copy()
    for b in range(1, bands):
        row_key = combine64(row_key, keys[:, b])
    if bands * rows < sig.shape[1]:  # rows outside the bands still distinguish signatures
        for c in range(bands * rows, sig.shape[1]):
            row_key = combine64(row_key, sig[:, c])
    return keys, row_key


def lsh_families(keys: np.ndarray, row_key: np.ndarray) -> np.ndarray:
    """Family id per row from :func:`lsh_keys` output (see :func:`lsh_family_ids`)."""
    keys = np.asarray(keys, dtype=np.uint64)
    if len(row_key) == 0:
        return np.zeros(0, dtype=np.int64)
    bands = keys.shape[1]
    uniq_key, first, inverse = np.unique(row_key, return_index=True, return_inverse=True)
    ukeys = keys[first]
    m = len(uniq_key)
    groups = [np.unique(ukeys[:, b], return_inverse=True)[1] for b in range(bands)]
    labels = np.arange(m, dtype=np.int64)
    while True:
        before = labels.copy()
        for g in groups:
            gmin = np.full(int(g.max()) + 1, m, dtype=np.int64)
            np.minimum.at(gmin, g, labels)
            labels = np.minimum(labels, gmin[g])
        while True:  # pointer jumping: labels are member indices
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            break
    family_key = np.full(m, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(family_key, labels, splitmix64(uniq_key).view(np.int64))
    return family_key[labels][inverse.ravel()]
