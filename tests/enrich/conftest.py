"""Fixtures for the enrich tests: real prompt corpora read in place from shared/data."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest

#: corpus name -> (relative path, how to pull the first user prompt from one JSON record)
_CORPORA: dict[str, tuple[str, Callable[[dict], str | None]]] = {
    "competition_math": ("reasoning_code_tasks/competition_math_cot_prompts.jsonl", lambda r: r["problem"]),
    "sharegpt": ("benign_prompts/sharegpt_first_turn_prompts.jsonl", lambda r: r["prompt"]),
    "arena_hard": ("benign_prompts/arena_hard_v0.1_prompts.jsonl", lambda r: r["turns"][0]["content"]),
    "gsm8k": ("reasoning_code_tasks/gsm8k_test.jsonl", lambda r: r["question"]),
    "gsm8k_train": ("reasoning_code_tasks/gsm8k_train_questions.jsonl", lambda r: r["question"]),
    "humaneval": ("reasoning_code_tasks/HumanEval.jsonl.gz", lambda r: r["prompt"]),
    "mbpp": ("reasoning_code_tasks/mbppplus_prompts.jsonl", lambda r: r["prompt"]),
    "bbh": ("reasoning_code_tasks/bbh_all_tasks.jsonl", lambda r: r["input"]),
    "alpaca_libre": ("distillation_prompts/alpaca_libre_generated_tasks.jsonl", lambda r: r["instruction"]),
}


def read_corpus(root: Path, name: str) -> list[str]:
    """Prompts of one corpus (non-empty strings only)."""
    if name == "awesome":
        with open(root / "benign_prompts/awesome_chatgpt_prompts.csv", encoding="utf-8") as fh:
            return [r["prompt"] for r in csv.DictReader(fh) if r["prompt"]]
    rel, get = _CORPORA[name]
    opener = gzip.open if rel.endswith(".gz") else open
    out = []
    with opener(root / rel, "rt", encoding="utf-8") as fh:
        for line in fh:
            text = get(json.loads(line))
            if text:
                out.append(text)
    return out


@pytest.fixture(scope="session")
def corpus(shared_data: Path) -> Callable[[str], list[str]]:
    """``corpus("sharegpt")`` -> list of real prompts (skips without shared data)."""
    cache: dict[str, list[str]] = {}

    def get(name: str) -> list[str]:
        if name not in cache:
            cache[name] = read_corpus(shared_data, name)
        return cache[name]

    return get
