"""Real prompt corpora laid out like ``shared/data`` (read in place, never copied).

``Corpus.load(DIR)`` reads whatever of these it finds and ignores the rest:

* ``benign_prompts/``: ShareGPT first turns, Arena-Hard, MT-Bench, awesome-chatgpt-prompts
* ``reasoning_code_tasks/``: GSM8K, competition maths, BBH (reasoning); HumanEval, MBPP+ (code)
* ``distillation_prompts/``: Self-Instruct / Alpaca-libre / WizardLM instructions
* ``tool_use/``: BFCL and ToolBench user turns
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from distillguard.errors import DistillguardError

#: Longest prompt kept from a corpus (characters): pasted documents beyond this are rare
#: outliers that would dominate file size without changing any per-account statistic.
MAX_PROMPT_CHARS = 4000


@dataclass
class Corpus:
    """Lists of real prompts by role; empty lists mean "use the built-in generator"."""

    root: Path
    benign: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    instructions: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, root: str | Path) -> Corpus:
        root = Path(root)
        if not root.is_dir():
            raise DistillguardError(f"corpus directory not found: {root}")
        c = cls(root)
        bp, rc, dp, tu = (
            root / d for d in ("benign_prompts", "reasoning_code_tasks", "distillation_prompts", "tool_use")
        )
        c.benign += _jsonl(bp / "sharegpt_first_turn_prompts.jsonl", "prompt")
        c.benign += [t[0]["content"] for t in _jsonl(bp / "arena_hard_v0.1_prompts.jsonl", "turns") if t]
        c.benign += [t[0] for t in _jsonl(bp / "mt_bench_questions.jsonl", "turns") if t]
        c.benign += _csv(bp / "awesome_chatgpt_prompts.csv", "prompt")
        c.reasoning += _jsonl(rc / "gsm8k_train_questions.jsonl", "question")
        c.reasoning += _jsonl(rc / "gsm8k_test.jsonl", "question")
        c.reasoning += _jsonl(rc / "competition_math_cot_prompts.jsonl", "problem")
        c.reasoning += _jsonl(rc / "bbh_all_tasks.jsonl", "input")
        c.reasoning += _csv(rc / "simpleqa_factual_questions.csv", "problem")
        c.code += _jsonl(rc / "HumanEval.jsonl.gz", "prompt")
        c.code += _jsonl(rc / "mbppplus_prompts.jsonl", "prompt")
        c.instructions += _jsonl(dp / "alpaca_selfinstruct_seed_tasks.jsonl", "instruction")
        c.instructions += _jsonl(dp / "alpaca_libre_generated_tasks.jsonl", "instruction")
        c.instructions += _jsonl(dp / "selfinstruct_user_oriented_instructions.jsonl", "instruction")
        c.instructions += _jsonl(dp / "wizardlm_evol_instruct_testset.jsonl", "Instruction")
        c.tools += [_first_user(t) for t in _jsonl(tu / "bfcl_v4_tool_use_tasks.jsonl", "turns")]
        c.tools += _jsonl(tu / "toolbench_example_queries.jsonl", "query")
        for name in ("benign", "reasoning", "code", "tools", "instructions"):
            setattr(c, name, _clean(getattr(c, name)))
        if not (c.benign or c.reasoning or c.code or c.tools or c.instructions):
            raise DistillguardError(f"no known corpus files under {root} (expected e.g. benign_prompts/)")
        return c

    def counts(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in ("benign", "reasoning", "code", "tools", "instructions")}


def _clean(items: list) -> list[str]:
    return [s for s in items if isinstance(s, str) and s.strip() and len(s) <= MAX_PROMPT_CHARS]


def _first_user(turns: object) -> str:
    """First user message of BFCL ``turns`` (a list of turns, each a list of messages)."""
    try:
        for msg in turns[0]:  # type: ignore[index]
            if msg.get("role") == "user":
                return msg["content"]
    except (TypeError, IndexError, KeyError, AttributeError):
        pass
    return ""


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        yield from fh


def _jsonl(path: Path, key: str) -> list:
    if not path.is_file():
        return []
    out = []
    for line in _lines(path):
        if line.strip():
            try:
                out.append(json.loads(line).get(key))
            except (json.JSONDecodeError, AttributeError):
                continue
    return out


def _csv(path: Path, key: str) -> list:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return [row.get(key) for row in csv.DictReader(fh)]
