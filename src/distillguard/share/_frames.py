"""Instruction frames of prompts (indicator kind ``frame``), and which prompts harvest.

Why frames: a campaign spread over many providers reuses a handful of *wrappers* around
a varying payload ("Could you walk me through <item>", "<item> Let's think step by
step."). The payload is public benchmark or corpus text that benign evaluators send too;
whole-template similarity mixes the two. The first and last ``frame_words`` words of the
normalized prompt isolate the wrapper, so partners that each saw a few of the campaign's
accounts still agree on the same few keyed values.

A frame value is ``head\\x1f<first words>`` or ``tail\\x1f<last words>`` (the side is part
of the value); it leaves the building only as an HMAC under the group key (kind
``frame``). Exports use frames of *harvest* prompts only (prompt-level tags such as
chain-of-thought or rubric grading, :data:`HARVEST_TAGS`): everyday wording never
becomes an indicator, whoever sent it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from distillguard.share._local import template_map

if TYPE_CHECKING:
    import duckdb

#: Prompt tags (enrich rules, without the ``tag_`` prefix) that mark what distillation
#: campaigns harvest (DESIGN.md: chain-of-thought elicitation, reasoning reconstruction,
#: rubric grading, censorship-safe rewrites, forced non-English reasoning). Coding, tool
#: use and vision are left out: they are most of benign developers' traffic.
HARVEST_TAGS: tuple[str, ...] = ("cot", "reasoning_reconstruct", "rubric", "rewrite", "forced_language")
FRAME_MAP = "_map_frame"


def harvest_mask(prompts: pa.Array, tags: tuple[str, ...] = HARVEST_TAGS) -> np.ndarray:
    """True where the prompt text itself carries one of ``tags`` (system prompts not used)."""
    if not len(prompts) or not tags:
        return np.zeros(len(prompts), dtype=bool)
    from distillguard.enrich.tags import tag_prompts

    table = tag_prompts(prompts)
    out = np.zeros(len(prompts), dtype=bool)
    for tag in tags:
        name = f"tag_{tag}"
        if name in table.column_names:
            out |= table[name].to_numpy(zero_copy_only=False)
    return out


def frame_map(
    con: duckdb.DuckDBPyConnection,
    words: int,
    *,
    tags: tuple[str, ...] = HARVEST_TAGS,
    with_harvest: bool = True,
) -> str:
    """Register ``_map_frame(raw, canon, harvest)``: each distinct prompt's head and tail frame.

    Two rows per prompt (the side prefix keeps head and tail apart even when they
    coincide). ``harvest`` says whether the prompt carries a harvest tag; matching does not
    need it (``with_harvest=False`` skips tagging and sets it true).
    """
    import ibis

    from distillguard import _engine
    from distillguard.features._timeline import ibis_backend

    be = ibis_backend(con)
    t = be.table(template_map(con))
    prompts = t.select("raw").to_pyarrow()["raw"].combine_chunks()
    harvest = harvest_mask(prompts, tags) if with_harvest else np.ones(len(prompts), dtype=bool)
    flags = pa.table({"raw": prompts, "harvest": pa.array(harvest, pa.bool_())})
    h = _engine.arrow_table(be, "_frame_harvest", flags)
    w = t.join(h, "raw")
    ws = w.template.split(" ")
    k = int(words)
    # the side is part of the value: head and tail frames of a prompt never coincide
    head = w.select("raw", canon=ibis.literal("head\x1f") + ws[:k].join(" "), harvest=w.harvest)
    tail = w.select("raw", canon=ibis.literal("tail\x1f") + ws[-k:].join(" "), harvest=w.harvest)
    _engine.keep(be, FRAME_MAP, ibis.union(head, tail))
    _engine.drop(be, "_frame_harvest")
    return FRAME_MAP
