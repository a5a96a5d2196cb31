"""Prompt templates: normalisation, exact template ids, frames, MinHash families.

Why: a distillation campaign sends the same *meta-template* tens of thousands of
times with different payloads ("Solve the following. Think step by step and show
all reasoning: <task>"). Three views catch it at increasing robustness:

* ``template_id``: hash of the normalised prompt (numbers, quotes, code, URLs,
  e-mails and names replaced by placeholders). Catches fill-in-the-blank variants.
* ``template_family``: banded MinHash LSH over word shingles of the normalised
  prompt, merged by union-find. Catches paraphrases when the varying part is small.
* ``frame_id``: the instruction *frame*, i.e. the first or last ``frame_words``
  words, whichever is shared by more distinct templates in the batch. Catches a fixed
  wrapper around a varying task even when the task is most of the prompt, where
  whole-prompt similarity is low by construction.
* ``frame_family``: shared frames clustered by MinHash LSH, so a fleet rotating a
  few paraphrased wrappers around bulky tasks still lands in one group; rows with
  no shared frame fall back to ``template_family``. This is the most robust
  grouping key for "repeated prompt templates".

Limit: a wrapper paraphrased afresh for *every* request around a bulky task shares
neither exact frames nor enough shingles; only the tags (CoT, rubric...) see it.

All work runs once per distinct text and is broadcast back, so 1M events drawn
from 50K prompts cost 50K normalisations.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.enrich._hashing import hash_strings
from distillguard.enrich._minhash import (
    DEFAULT_BANDS,
    DEFAULT_NUM_PERM,
    DEFAULT_ROWS,
    DEFAULT_SHINGLE,
    lsh_family_ids,
    minhash_signatures,
    word_tokens,
)
from distillguard.errors import DistillguardError

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_FRAME_WORDS",
    "DEFAULT_NUM_PERM",
    "DEFAULT_ROWS",
    "DEFAULT_SHINGLE",
    "FRAME_MAX_CHARS",
    "FRAME_MIN_SUPPORT",
    "FRAME_SHINGLE",
    "choose_frame_ids",
    "choose_frame_sides",
    "frame_family_ids",
    "frame_parts",
    "frame_texts",
    "lsh_family_ids",
    "minhash_signatures",
    "normalize_templates",
    "template_ids",
]

#: Words at each end of a normalised prompt that form its frame. Real harvesting
#: wrappers run 8-15 words ("please reason step by step, and put your final answer
#: within \boxed{}." is 13), so 8 words sit inside them and outside the payload.
DEFAULT_FRAME_WORDS = 8
#: Cap on a frame's length in characters, so scripts without spaces (CJK) and
#: glued payloads do not turn "8 words" into the whole prompt.
FRAME_MAX_CHARS = 80
#: A prefix/suffix counts as a shared frame only when at least this many *distinct*
#: templates in the batch carry it; below that the frame is the template itself.
FRAME_MIN_SUPPORT = 3
#: Words per shingle when clustering frames: frames are short (<= 8 words), so
#: 2-grams keep a one-word paraphrase at Jaccard ~0.55 (LSH 16x4 joins it ~80%).
FRAME_SHINGLE = 2

# (pattern, replacement) applied in order; RE2 syntax (pyarrow). Order matters:
# code and URLs first (they contain everything else), names before lowercasing,
# numbers after URLs/e-mails so these stay one placeholder.
_BEFORE_LOWER: tuple[tuple[str, str], ...] = (
    (r"(?s)```.*?```", " <code> "),
    (r"(?s)```.*$", " <code> "),
    (r"`[^`\n]{1,400}`", " <code> "),
    (r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\"']+", " <url> "),
    (r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", " <email> "),
    (r"\"[^\"]+\"", " <q> "),
    (r"“[^”]+”", " <q> "),
    (r"«[^»]+»", " <q> "),
    (r"「[^」]+」", " <q> "),
    (r"(^|[\s(:=])'[^'\n]{1,1000}'", r"\1 <q> "),
    # Capitalised words after a lower-case word (not sentence starts): names, products.
    (r"(\p{Ll}[,;]?\s+)\p{Lu}\p{Ll}+(?:\s+\p{Lu}\p{Ll}+)*", r"\1<name>"),
)
_AFTER_LOWER: tuple[tuple[str, str], ...] = (
    (r"\d+(?:[.,:/]\d+)*", "<num>"),
    (r"\s+", " "),
)


def _as_string_array(texts: pa.Array | pa.ChunkedArray | list[str | None]) -> pa.Array:
    if isinstance(texts, list):
        return pa.array(texts, pa.string())
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if pa.types.is_null(texts.type):
        return pa.nulls(len(texts), pa.string())
    return texts.cast(pa.string())


def _normalize_values(values: pa.Array) -> pa.Array:
    out = values
    for pattern, repl in _BEFORE_LOWER:
        out = pc.replace_substring_regex(out, pattern, repl)
    out = pc.utf8_lower(out)
    for pattern, repl in _AFTER_LOWER:
        out = pc.replace_substring_regex(out, pattern, repl)
    return pc.utf8_trim_whitespace(out)


def normalize_templates(texts: pa.Array | pa.ChunkedArray | list[str | None]) -> pa.Array:
    """The normalised template of each prompt (nulls stay null).

    Lower-cased; numbers -> ``<num>``; fenced/inline code -> ``<code>``; quoted
    payloads -> ``<q>``; URLs -> ``<url>``; e-mails -> ``<email>``; capitalised
    words after a lower-case word (names) -> ``<name>``; whitespace collapsed.
    """
    arr = _as_string_array(texts)
    encoded = pc.dictionary_encode(arr)
    return _normalize_values(encoded.dictionary).take(encoded.indices)


def template_ids(
    texts: pa.Array | pa.ChunkedArray | list[str | None], *, normalized: bool = False
) -> pa.Array:
    """Stable int64 id (BLAKE2b-64) of each prompt's normalised template; null for null."""
    norm = _as_string_array(texts) if normalized else normalize_templates(texts)
    return hash_strings(norm, person=b"dg-template")


def frame_texts(
    normalized: pa.Array, *, frame_words: int = DEFAULT_FRAME_WORDS, max_chars: int = FRAME_MAX_CHARS
) -> tuple[pa.Array, pa.Array]:
    """(head, tail): the first / last ``frame_words`` words of normalised texts.

    CJK characters count as words; each side is capped at ``max_chars``.
    """
    if frame_words < 1:
        raise DistillguardError(f"frame_words must be >= 1, got {frame_words}")
    spaced = word_tokens(normalized)
    more = frame_words - 1
    head = pc.struct_field(pc.extract_regex(spaced, rf"^(?P<w>[^ ]+(?: [^ ]+){{0,{more}}})"), "w")
    tail = pc.struct_field(pc.extract_regex(spaced, rf"(?P<w>[^ ]+(?: [^ ]+){{0,{more}}})$"), "w")
    return pc.utf8_slice_codeunits(head, 0, max_chars), pc.utf8_slice_codeunits(tail, -max_chars)


def frame_parts(
    normalized: pa.Array, *, frame_words: int = DEFAULT_FRAME_WORDS, max_chars: int = FRAME_MAX_CHARS
) -> tuple[pa.Array, pa.Array]:
    """(prefix id, suffix id): stable hashes of :func:`frame_texts`; nulls stay null."""
    head, tail = frame_texts(normalized, frame_words=frame_words, max_chars=max_chars)
    return hash_strings(head, person=b"dg-frame-head"), hash_strings(tail, person=b"dg-frame-tail")


def choose_frame_sides(
    prefix_ids: pa.Array,
    suffix_ids: pa.Array,
    template_id: pa.Array,
    *,
    min_support: int = FRAME_MIN_SUPPORT,
) -> tuple[np.ndarray, np.ndarray]:
    """(use prefix, use suffix) masks: which side of each row is a shared frame.

    Support = number of distinct ``template_id`` values in this batch carrying the
    prefix (resp. suffix). A side wins when its support is >= ``min_support`` and
    at least the other side's (ties go to the prefix).
    """
    table = pa.table({"p": prefix_ids, "s": suffix_ids, "t": template_id})
    distinct = table.group_by(["p", "s", "t"]).aggregate([])  # one row per distinct triple

    def support(col: str) -> np.ndarray:
        counts = distinct.group_by(col).aggregate([("t", "count_distinct")])
        pos = pc.index_in(table.column(col), counts.column(col))
        got = pc.fill_null(pc.take(counts.column("t_count_distinct"), pos), 0)
        return got.to_numpy() if isinstance(got, pa.Array) else got.combine_chunks().to_numpy()

    sp, ss = support("p"), support("s")
    use_p = (sp >= min_support) & (sp >= ss) & prefix_ids.is_valid().to_numpy(zero_copy_only=False)
    use_s = (ss >= min_support) & ~use_p & suffix_ids.is_valid().to_numpy(zero_copy_only=False)
    return use_p, use_s


def choose_frame_ids(
    prefix_ids: pa.Array,
    suffix_ids: pa.Array,
    template_id: pa.Array,
    *,
    min_support: int = FRAME_MIN_SUPPORT,
) -> pa.Array:
    """Per row, the frame (prefix or suffix id) shared by more distinct templates
    (see :func:`choose_frame_sides`); rows with no shared frame keep their
    ``template_id``, so a frame id other than the template means "repeated wrapper"."""
    use_p, use_s = choose_frame_sides(prefix_ids, suffix_ids, template_id, min_support=min_support)
    return pc.if_else(pa.array(use_p), prefix_ids, pc.if_else(pa.array(use_s), suffix_ids, template_id))


def frame_family_ids(
    head: pa.Array,
    tail: pa.Array,
    use_prefix: np.ndarray,
    use_suffix: np.ndarray,
    fallback: pa.Array,
    *,
    seed: int = 0,
    num_perm: int = DEFAULT_NUM_PERM,
    bands: int = DEFAULT_BANDS,
    rows: int = DEFAULT_ROWS,
    shingle: int = FRAME_SHINGLE,
) -> pa.Array:
    """Family of the *shared* frame of each row; ``fallback`` where there is none.

    Why: a fleet that rotates a handful of paraphrased wrappers ("Solve the
    following..." / "Solve this problem...") around a bulky varying task gets one
    frame id per wrapper. Clustering the wrapper texts (word ``shingle``-grams,
    banded LSH, union-find) joins the paraphrases. Only frames that are already
    shared by >= ``FRAME_MIN_SUPPORT`` templates are clustered, so the many one-off
    openings of benign prompts cannot chain into one giant family.
    """
    chosen = pc.if_else(
        pa.array(use_prefix),
        head,
        pc.if_else(pa.array(use_suffix), tail, pa.scalar(None, pa.string())),
    )
    shared = use_prefix | use_suffix
    if not shared.any():
        return fallback
    encoded = pc.dictionary_encode(chosen)
    sigs = minhash_signatures(encoded.dictionary, num_perm, seed, shingle=shingle, normalized=True)
    fam = pa.array(lsh_family_ids(sigs, bands, rows), pa.int64()).take(encoded.indices)
    return pc.if_else(pa.array(shared), fam, fallback)
