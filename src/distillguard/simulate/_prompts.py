"""Prompt generators: task pools, paraphrase slots, CoT suffixes, rubrics, tool JSON.

Each generator builds a modest pool of filled templates in Python (a few thousand
strings per chunk, never one per event) and then assembles the per-event prompts
column-wise in Arrow: ``take`` picks pool entries, ``binary_join_element_wise`` glues
openers, bodies and suffixes. With a corpus, the ``item`` and chat slots draw real
prompts (ShareGPT, GSM8K, HumanEval, BFCL, ...) instead of the built-in pools.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.simulate import _pools as P
from distillguard.simulate._corpus import Corpus

#: Share of slot draws taken from a real corpus when one is loaded.
CORPUS_SHARE = 0.7


@dataclass(frozen=True)
class GenMeta:
    """What a prompt family implies for the other request fields."""

    tools: tuple[int, int] = (0, 0)  # tools offered, inclusive range
    image: bool = False  # request carries an image


#: Slots filled by one uniform draw from a pool (looked up on every template fill).
_SIMPLE_SLOTS: dict[str, list[str]] = {
    "topic": P.TOPICS,
    "concept": P.CONCEPTS,
    "concept2": P.CONCEPTS,
    "city": P.CITIES,
    "city2": P.CITIES,
    "person": P.PEOPLE,
    "event": P.EVENTS,
    "dish": P.DISHES,
    "ingredient": P.INGREDIENTS,
    "howto": P.HOWTOS,
    "book": P.BOOKS,
    "sentence": P.SENTENCES,
    "lang": P.LANGS_CODE,
    "lang2": P.LANGS_CODE,
    "language": P.LANGUAGES,
    "error": P.ERRORS,
    "code_task": P.CODE_TASKS,
    "regex": P.REGEXES,
    "region": P.REGIONS,
    "text": P.SENSITIVE_TEXTS,
    "question": P.SENSITIVE_QUESTIONS,
    "product": P.PRODUCTS,
}


class _Slots(dict):
    """Lazily fills ``{slot}`` names from pools; one instance per filled template."""

    def __init__(self, r: random.Random, corpus: Corpus | None) -> None:
        super().__init__()
        self.r = r
        self.corpus = corpus

    def _from(self, name: str, fallback: Callable[[], str]) -> str:
        pool = getattr(self.corpus, name, None) if self.corpus else None
        if pool and self.r.random() < CORPUS_SHARE:
            return self.r.choice(pool)
        return fallback()

    def __missing__(self, key: str) -> str:
        r = self.r
        if key in _SIMPLE_SLOTS:
            val = r.choice(_SIMPLE_SLOTS[key])
        elif key in ("a", "b", "c"):
            val = str(r.randint(3, 480))
        elif key == "k":
            val = str(r.randint(2, 9))
        elif key == "p":
            val = f"{r.randint(2, 9)}.{r.choice(['00', '25', '50', '75'])}"
        elif key == "h":
            val = str(r.randint(5, 20))
        elif key == "price":
            val = str(r.choice([20, 25, 30, 50, 75, 100, 150]))
        elif key in ("w1", "w2", "w3"):
            val = str(r.choice([20, 30, 40, 50]))
        elif key == "snippet":
            val = r.choice(P.SNIPPETS).replace("{k}", str(r.randint(10, 999)))
        elif key == "item":
            val = self._from("reasoning", self._synthetic_item)
        elif key == "code_item":
            val = self._from("code", lambda: r.choice(P.CODE_TASKS))
        elif key in ("answer", "answer2"):
            val = r.choice(
                [
                    str(r.randint(2, 9999)),
                    f"x = {r.randint(-50, 50)}",
                    f"The answer is {r.randint(1, 500)}.",
                    f"{r.choice('ABCD')}",
                    f"{r.randint(1, 99)}/{r.randint(2, 99)}",
                    "Yes, because the premises imply it.",
                    "No; the second condition fails.",
                ]
            )
        elif key == "review":
            val = " ".join(r.sample(P.REVIEW_PARTS, r.randint(1, 3)))
        elif key == "ticket":
            val = " ".join(r.sample(P.TICKET_PARTS, r.randint(1, 2)))
        elif key == "invoice":
            val = (
                f"INVOICE #{r.randint(1000, 99999)} {r.choice(['Acme GmbH', 'Blue Ox LLC', 'Nordwind AB'])} "
                f"date {r.randint(1, 28)}/{r.randint(1, 12)}/2025 "
                f"total {r.randint(10, 9000)}.{r.randint(0, 99):02d} EUR"
            )
        elif key == "chat":
            val = self._from("benign", lambda: _fill(r.choice(P.BENIGN_CHAT_TEMPLATES), r, None))
        elif key == "task":
            val = self._from("tools", lambda: _fill(r.choice(P.TOOL_TASKS), r, None))
        elif key == "obs":
            val = _fill(r.choice(P.AGENT_OBSERVATIONS), r, None)
        elif key == "instruction":
            val = self._from("instructions", lambda: _fill(r.choice(P.BENIGN_CHAT_TEMPLATES), r, None))
        else:
            raise KeyError(key)
        self[key] = val
        return val

    def _synthetic_item(self) -> str:
        r = self.r
        u = r.random()
        if u < 0.65:
            return _fill(r.choice(P.MATH_TEMPLATES), r, None)
        if u < 0.82:
            return r.choice(P.SCIENCE_ITEMS)
        return r.choice(P.LOGIC_ITEMS)


def _fill(template: str, r: random.Random, corpus: Corpus | None) -> str:
    return template.format_map(_Slots(r, corpus))


def _tool_json(r: random.Random, k: int) -> str:
    names = r.sample(P.TOOL_NAMES, k)
    tools = [
        {"name": n, "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}} for n in names
    ]
    return json.dumps(tools, separators=(",", ":"))


# --- families: a body maker plus optional vectorized prefix/suffix pools -----------------


@dataclass(frozen=True)
class Family:
    """A prompt family: how to fill one body, and what to glue around it per event."""

    body: Callable[[random.Random, Corpus | None], str]
    prefix: tuple[str, ...] = ()
    suffix: tuple[str, ...] = ()
    meta: GenMeta = GenMeta()


def _templates(pool: list[str]) -> Callable[[random.Random, Corpus | None], str]:
    return lambda r, corpus: _fill(r.choice(pool), r, corpus)


def _tool_frame(r: random.Random, corpus: Corpus | None) -> str:
    return f"Tools available: {_tool_json(r, r.randint(2, 6))}\nUser request: {_fill('{task}', r, corpus)}"


def _meta_generation(r: random.Random, corpus: Corpus | None) -> str:
    """Self-Instruct style: ask the model to invent tasks (synthetic-data harvesting)."""
    k = r.choice([10, 15, 20])
    seeds = "\n".join(f"{i + 1}. {_fill('{instruction}', r, corpus)}" for i in range(3))
    return (
        f"You are asked to come up with a set of {k} diverse task instructions with inputs and "
        f"high-quality outputs. Do not repeat verbs; vary the task types.\nExamples:\n{seeds}\n"
        f"List of {k} tasks:"
    )


_ITEM = _templates(["{item}"])
_FORCED = tuple(s.format(language=lang) for s in P.FORCED_LANGUAGE_SUFFIXES for lang in P.FORCED_LANGUAGES)

FAMILIES: dict[str, Family] = {
    # benign families
    "chat": Family(_templates(["{chat}"]), tuple(P.OPENERS), tuple(P.CLOSERS)),
    "dev": Family(_templates(P.DEV_TEMPLATES), tuple(P.OPENERS[:6]), tuple(P.CLOSERS[:6])),
    "product_user": Family(_templates(P.PRODUCT_USER_TEMPLATES)),
    "batch": Family(_templates(P.BATCH_TEMPLATES)),
    # an eval harness appends one fixed CoT instruction to every benchmark item
    "benchmark": Family(_ITEM, (), ("\n" + P.COT_SUFFIXES[0],)),
    "agent_step": Family(_templates(P.AGENT_FRAMES), meta=GenMeta(tools=(3, 12))),
    "agent_task": Family(_templates(["{task}"]), meta=GenMeta(tools=(3, 12))),
    "vision_benign": Family(_templates(P.VISION_PROMPTS[-3:]), meta=GenMeta(image=True)),
    # attack families
    "cot": Family(_ITEM, (), tuple(" " + s for s in P.COT_SUFFIXES)),
    "completed_cot": Family(_templates(P.COMPLETED_RESPONSE_FRAMES)),
    "rubric": Family(_templates(P.RUBRIC_FRAMES)),
    "censor": Family(_templates(P.CENSOR_FRAMES)),
    "forced_language": Family(_ITEM, (), _FORCED),
    "code_sweep": Family(_templates(P.CODE_SWEEP_TEMPLATES)),
    "tool_sweep": Family(_tool_frame, meta=GenMeta(tools=(2, 6))),
    "vision_sweep": Family(_templates(P.VISION_PROMPTS[:6]), meta=GenMeta(image=True)),
    "paraphrase": Family(_templates(P.PARAPHRASE_FRAMES), (), tuple(P.SOFT_COT_SUFFIXES)),
    "meta_generation": Family(_meta_generation),
}
FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)

#: Bodies per family built once per run (shared by every chunk) ...
BASE_POOL = 2048
#: ... plus this many fresh bodies per chunk, so long runs keep producing new prompts.
FRESH_PER_CHUNK = 256


class PromptCache:
    """Per-run body pools: built once per family from the seed, reused by every chunk."""

    def __init__(self, seed: int, corpus: Corpus | None) -> None:
        self.seed = seed
        self.corpus = corpus
        self._base: dict[str, pa.Array] = {}

    def base(self, name: str) -> pa.Array:
        if name not in self._base:
            r = random.Random(f"{self.seed}:{name}")
            fam = FAMILIES[name]
            self._base[name] = pa.array(
                [fam.body(r, self.corpus) for _ in range(BASE_POOL)], type=pa.string()
            )
        return self._base[name]

    def bodies(self, rng: np.random.Generator, name: str, n: int) -> pa.Array:
        """Body pool for ``n`` prompts of family ``name``: the base pool plus fresh bodies."""
        fam = FAMILIES[name]
        r = random.Random(int(rng.integers(0, 2**63 - 1)))
        fresh = [fam.body(r, self.corpus) for _ in range(min(n, FRESH_PER_CHUNK))]
        return pa.concat_arrays([self.base(name), pa.array(fresh, type=pa.string())])


def assignment_prompts(rng: np.random.Generator, assignment: np.ndarray) -> pa.Array:
    """University class: each event's class assignment (index into ASSIGNMENTS), student-framed."""
    heads = pa.array([f.split("{a}")[0] for f in P.STUDENT_FRAMES])
    tails = pa.array([f.split("{a}")[1] for f in P.STUDENT_FRAMES])
    frame = pa.array(rng.integers(0, len(P.STUDENT_FRAMES), size=len(assignment)))
    body = pa.array(P.ASSIGNMENTS).take(pa.array(np.asarray(assignment, dtype=np.int64)))
    return pc.binary_join_element_wise(heads.take(frame), body, tails.take(frame), "")


def generate(
    rng: np.random.Generator, mix: dict[str, float], n: int, cache: PromptCache
) -> tuple[pa.Array, np.ndarray]:
    """``n`` prompts drawn from the family ``mix``; also each event's family code.

    Per event we pick (vectorized) an index into one concatenated pool of prefixes, of
    bodies and of suffixes, so the prompt column is built in event order with three
    ``take`` and one join: no per-family pieces to concatenate and reorder.
    """
    names = list(mix)
    for name in names:
        if name not in FAMILIES:
            raise ValueError(f"unknown prompt family {name!r}; known: {', '.join(FAMILY_NAMES)}")
    p = np.array([mix[k] for k in names], dtype=np.float64)
    fam = rng.choice(len(names), size=n, p=p / p.sum()) if len(names) > 1 else np.zeros(n, np.int64)
    counts = np.bincount(fam, minlength=len(names))
    body_pools: list[pa.Array] = []
    pre_pool, suf_pool = [""], [""]  # entry 0: no prefix / suffix
    idx = {k: np.zeros(n, dtype=np.int64) for k in ("body", "pre", "suf")}
    off = 0
    for j, name in enumerate(names):
        if not counts[j]:
            continue
        sel = np.flatnonzero(fam == j)
        pool = cache.bodies(rng, name, int(counts[j]))
        idx["body"][sel] = off + rng.integers(0, len(pool), size=len(sel))
        body_pools.append(pool)
        off += len(pool)
        f = FAMILIES[name]
        for key, extra, acc in (("pre", f.prefix, pre_pool), ("suf", f.suffix, suf_pool)):
            if extra:
                idx[key][sel] = len(acc) + rng.integers(0, len(extra), size=len(sel))
                acc.extend(extra)
    if not body_pools:
        return pa.array([], pa.string()), np.zeros(0, dtype=np.int64)
    bodies = pa.concat_arrays(body_pools).take(pa.array(idx["body"]))
    parts = [bodies]
    if len(pre_pool) > 1:
        parts.insert(0, pa.array(pre_pool, type=pa.string()).take(pa.array(idx["pre"])))
    if len(suf_pool) > 1:
        parts.append(pa.array(suf_pool, type=pa.string()).take(pa.array(idx["suf"])))
    prompts = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "")
    codes = np.array([FAMILY_NAMES.index(nm) for nm in names], dtype=np.int64)[fam]
    return prompts, codes


def family_meta() -> list[GenMeta]:
    """Metadata indexed like the codes :func:`generate` returns."""
    return [f.meta for f in FAMILIES.values()]
