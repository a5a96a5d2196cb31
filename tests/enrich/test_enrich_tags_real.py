"""Tag rates on real public prompt corpora: loose bounds that catch broken rules."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest

from distillguard.enrich.tags import tag_prompts


def _rate(texts: list[str], tag: str) -> float:
    col = tag_prompts(pa.array(texts)).column(tag).to_pylist()
    return sum(col) / len(col)


def test_competition_math_with_reasoning_suffix_is_cot(corpus: Callable[[str], list[str]]) -> None:
    # every problem ends with "Please reason step by step, and put your final answer within \boxed{}."
    assert _rate(corpus("competition_math"), "tag_cot") > 0.99


def test_sharegpt_is_mostly_not_cot(corpus: Callable[[str], list[str]]) -> None:
    rate = _rate(corpus("sharegpt"), "tag_cot")
    assert rate < 0.05, rate  # measured 0.012: users say "step by step" now and then


def test_plain_questions_are_not_tagged(corpus: Callable[[str], list[str]]) -> None:
    for name in ("gsm8k", "bbh"):
        t = tag_prompts(pa.array(corpus(name)))
        assert t.column("capability").to_pylist().count("chat") / t.num_rows > 0.98, name


@pytest.mark.parametrize("name", ["humaneval", "mbpp"])
def test_code_benchmarks_are_coding(corpus: Callable[[str], list[str]], name: str) -> None:
    assert _rate(corpus(name), "tag_coding") > 0.95


def test_benign_rates_of_harvest_tags_stay_low(corpus: Callable[[str], list[str]]) -> None:
    texts = corpus("sharegpt") + corpus("arena_hard") + corpus("alpaca_libre")
    t = tag_prompts(pa.array(texts))
    for tag, bound in (
        ("tag_reasoning_reconstruct", 0.005),
        ("tag_forced_language", 0.005),
        ("tag_rubric", 0.01),
        ("tag_rewrite", 0.01),
    ):
        rate = sum(t.column(tag).to_pylist()) / t.num_rows
        assert rate < bound, (tag, rate)


def test_wrapped_real_questions_are_tagged(corpus: Callable[[str], list[str]]) -> None:
    """Harvest wrappers from the public record around real gsm8k questions."""
    qs = corpus("gsm8k")[:200]
    wrappers = {
        "tag_reasoning_reconstruct": (
            "{q}\nAnswer: 42\nArticulate the internal reasoning behind this completed response."
        ),
        "tag_forced_language": "{q}\nThink in Chinese, then answer in English.",
        "tag_rubric": (
            "Question: {q}\nResponse: 42\nAs an impartial judge, rate the response on a scale of 1 to 10."
        ),
        "tag_rewrite": "Rewrite this answer so it avoids politically sensitive content: {q}",
    }
    for tag, wrap in wrappers.items():
        assert _rate([wrap.format(q=q) for q in qs], tag) == 1.0, tag
