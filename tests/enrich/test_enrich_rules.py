"""Every YAML tag rule replays the examples it lists (Elastic detection-rules style)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from distillguard.enrich.tags import CAPABILITY_PRIORITY, TagRule, load_rule, load_rules, tag_prompts
from distillguard.errors import DistillguardError

RULES = load_rules()
REQUIRED_TAGS = {
    "tag_cot",
    "tag_reasoning_reconstruct",
    "tag_forced_language",
    "tag_rubric",
    "tag_rewrite",
    "tag_tool_use",
    "tag_coding",
    "tag_vision",
}


def test_required_tags_exist() -> None:
    assert {r.name for r in RULES} == REQUIRED_TAGS


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_metadata_is_complete(rule: TagRule) -> None:
    assert rule.description and rule.references and rule.false_positives
    assert rule.capability in CAPABILITY_PRIORITY
    assert len(rule.positive_examples) >= 4 and len(rule.negative_examples) >= 4


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_matches_its_positive_examples(rule: TagRule) -> None:
    hits = rule.match(pa.array(list(rule.positive_examples)))
    missed = [t for t, h in zip(rule.positive_examples, hits, strict=True) if not h]
    assert not missed, f"{rule.name} misses {missed}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_ignores_its_negative_examples(rule: TagRule) -> None:
    hits = rule.match(pa.array(list(rule.negative_examples)))
    fired = [t for t, h in zip(rule.negative_examples, hits, strict=True) if h]
    assert not fired, f"{rule.name} fires on {fired}"


@pytest.mark.parametrize(
    "text",
    [
        "请一步一步地推理。",  # zh
        "Реши шаг за шагом.",  # ru
        "Explica paso a paso.",  # es
        "Explique étape par étape.",  # fr
        "Erkläre es Schritt für Schritt.",  # de
    ],
)
def test_cot_is_multilingual(text: str) -> None:
    assert tag_prompts([text]).column("tag_cot").to_pylist() == [True]


def test_system_prompt_is_read_and_capability_priority() -> None:
    t = tag_prompts(
        [
            "What is 17*23?",
            "Write a Python function to add numbers",
            "Rate the response on a scale of 1 to 10",
            "hello",
            None,
            None,
        ],
        [None, "Think step by step.", None, None, None, "You are a judge. Score the following answer."],
    )
    assert t.column("tag_cot").to_pylist() == [False, True, False, False, False, False]
    # reasoning outranks coding; grading alone stays grading; nothing -> chat; no text -> null
    assert t.column("capability").to_pylist() == ["chat", "reasoning", "grading", "chat", None, "grading"]


def test_bad_rules_are_user_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: tag_x\ncapability: chat\ndescription: d\nfields: [prompt]\n"
        "patterns: ['(unclosed']\nexamples: {positive: [], negative: []}\n"
    )
    with pytest.raises(DistillguardError, match="bad pattern"):
        load_rule(bad)
    bad.write_text(
        "name: x\ncapability: chat\ndescription: d\nfields: [prompt]\npatterns: [a]\nexamples: {}\n"
    )
    with pytest.raises(DistillguardError, match="must start with 'tag_'"):
        load_rule(bad)
    bad.write_text("name: tag_x\n")
    with pytest.raises(DistillguardError, match="lacks"):
        load_rule(bad)
    with pytest.raises(DistillguardError, match="differ in length"):
        tag_prompts(["a", "b"], ["c"])
