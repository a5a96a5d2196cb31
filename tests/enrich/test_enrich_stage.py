"""enrich() end to end: schema, missing columns, structural tags, campaign frames."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import pyarrow as pa

import distillguard.enrich as enrich_pkg
from distillguard.enrich import EnrichParams, IpInfra, enrich, enriched_schema
from distillguard.schema import EVENT_SCHEMA


def _events(n: int, **cols: list) -> pa.Table:
    base = {
        "event_id": [f"e{i}" for i in range(n)],
        "account_id": [f"a{i % 3}" for i in range(n)],
    }
    base.update(cols)
    return pa.table(base)


def test_public_surface_is_pinned() -> None:
    assert sorted(enrich_pkg.__all__) == sorted(
        ["IP_COLUMNS", "TEMPLATE_COLUMNS", "EnrichParams", "IpInfra", "enrich", "enriched_schema"]
    )


def test_schema_and_values() -> None:
    t = _events(
        3,
        client_ip=["52.1.2.3", "10.0.0.7", None],
        prompt=["Think step by step: what is 2+2?", None, "Write a Python function to sort a list"],
        system_prompt=[None, None, None],
        tool_count=[0, 3, None],
        has_image=[None, True, False],
    )
    out = enrich(t, IpInfra.builtin())
    appended = out.schema.names[len(t.schema.names) :]
    assert appended == enriched_schema().names
    for field in enriched_schema():
        assert out.schema.field(field.name).type == field.type
    rows = out.to_pylist()
    assert [r["ip_kind"] for r in rows] == ["hosting", "private", "unknown"]
    assert [r["capability"] for r in rows] == ["reasoning", "tool_use", "coding"]
    assert rows[1]["tag_tool_use"] and rows[1]["tag_vision"]  # from tool_count / has_image
    assert rows[1]["template_id"] is None and rows[1]["template_family"] is None
    assert rows[0]["template_id"] is not None


def test_works_without_prompt_or_ip_columns_and_keeps_batch_type() -> None:
    batch = _events(4).to_batches()[0]
    out = enrich(batch, None)
    assert isinstance(out, pa.RecordBatch) and out.num_rows == 4
    assert set(out.column("ip_kind").to_pylist()) == {"unknown"}
    assert out.column("template_id").null_count == 4
    assert out.column("capability").null_count == 4
    assert not any(out.column("tag_cot").to_pylist())


def test_all_null_typed_columns_and_event_schema_metadata() -> None:
    t = EVENT_SCHEMA.empty_table()
    out = enrich(t)
    assert out.num_rows == 0 and out.schema.metadata == EVENT_SCHEMA.metadata
    nulls = _events(2, prompt=pa.nulls(2), client_ip=pa.nulls(2))
    assert enrich(nulls).column("ip_kind").to_pylist() == ["unknown", "unknown"]


def test_re_enrichment_replaces_columns() -> None:
    t = _events(2, prompt=["step by step please", "hello"], client_ip=["10.0.0.1", "52.1.1.1"])
    once = enrich(t)
    twice = enrich(once)
    assert twice.schema.names == once.schema.names
    assert twice.equals(once)


def test_optional_signature_and_template_columns() -> None:
    t = _events(2, prompt=["a b c d", None])
    out = enrich(t, params=EnrichParams(keep_signatures=True, keep_template_text=True, num_perm=16, bands=4))
    sig = out.column("minhash")
    assert sig.type == pa.list_(pa.uint64(), 16)
    assert sig.null_count == 1
    assert out.column("template").to_pylist() == ["a b c d", None]


def test_minhash_seed_changes_only_families() -> None:
    t = _events(3, prompt=["one two three four", "one two three five", "z y x"])
    a, b = enrich(t, minhash_seed=0), enrich(t, minhash_seed=1)
    assert a.column("template_id").equals(b.column("template_id"))
    assert enrich(t, minhash_seed=0).equals(a)


def test_campaign_frame_around_real_tasks(corpus: Callable[[str], list[str]]) -> None:
    """A fixed CoT frame around real gsm8k questions (the varying part is most of the
    prompt) gets one frame id; real ShareGPT prompts mostly keep their own."""
    rng = np.random.default_rng(0)
    questions = list(rng.choice(corpus("gsm8k_train"), 300, replace=False))
    attack = [f"Solve the following. Think step by step and show all reasoning: {q}" for q in questions]
    benign = list(rng.choice(corpus("sharegpt"), 600, replace=False))
    out = enrich(_events(900, prompt=attack + benign))
    frames = out.column("frame_id").to_pylist()
    assert len(set(frames[:300])) == 1
    templates = out.column("template_id").to_pylist()
    assert len(set(templates[:300])) > 250  # exact templates do not see the campaign
    own = sum(f == t for f, t in zip(frames[300:], templates[300:], strict=True)) / 600
    assert own > 0.85, own
    biggest_benign_frame = Counter(frames[300:]).most_common(1)[0][1]
    assert biggest_benign_frame < 30


def test_suffix_frame_of_real_competition_math(corpus: Callable[[str], list[str]]) -> None:
    probs = corpus("competition_math")[:400]
    out = enrich(_events(len(probs), prompt=probs))
    frames = Counter(out.column("frame_id").to_pylist())
    assert frames.most_common(1)[0][1] / len(probs) > 0.95


def test_paraphrased_meta_template_families(corpus: Callable[[str], list[str]]) -> None:
    """Alpaca-style harvest meta-prompt: paraphrases + a short varying task list share a
    family; real benign prompts rarely share one."""
    head = (
        "You are asked to come up with a set of {n} diverse task instructions. These task instructions "
        "will be given to a GPT model and we will evaluate the GPT model for completing the instructions. "
        "Here are the requirements: try not to repeat the verb for each instruction to maximize diversity. "
        "The language used for the instruction also should be diverse. The instructions should be in "
        "English. List of {n} tasks: "
    )
    paraphrases = [
        head,
        head.replace("come up with", "write"),
        head.replace("diverse task", "varied task"),
        head.replace("Here are the requirements", "Requirements"),
    ]
    tasks = corpus("alpaca_libre")
    rng = np.random.default_rng(1)
    attack = [
        rng.choice(paraphrases).format(n=int(rng.integers(5, 30))) + " ".join(rng.choice(tasks, 1))
        for _ in range(200)
    ]
    benign = list(rng.choice(corpus("sharegpt"), 800, replace=False))
    fam = enrich(_events(1000, prompt=attack + benign)).column("template_family").to_pylist()
    top, count = Counter(fam[:200]).most_common(1)[0]
    assert count / 200 > 0.9
    benign_counts = Counter(fam[200:])
    assert benign_counts[top] == 0
    assert sum(c for c in benign_counts.values() if c > 1) / 800 < 0.1


def test_rotating_paraphrased_wrappers_share_a_frame_family(corpus: Callable[[str], list[str]]) -> None:
    """A fleet rotating paraphrased CoT wrappers around real questions (the question is
    most of the prompt): several frame ids, one frame family, no benign prompt in it."""
    wrappers = [
        "Solve the following problem. Think step by step and show all of your reasoning: {q}",
        "Solve the following question. Think step by step and show all of your reasoning: {q}",
        "Solve the following problem. Think step by step and show all your reasoning: {q}",
        "Please solve the following problem. Think step by step and show all of your reasoning: {q}",
    ]
    rng = np.random.default_rng(3)
    questions = list(rng.choice(corpus("gsm8k_train"), 400, replace=False))
    attack = [wrappers[i % len(wrappers)].format(q=q) for i, q in enumerate(questions)]
    benign = list(rng.choice(corpus("sharegpt"), 1000, replace=False))
    out = enrich(_events(1400, prompt=attack + benign))
    frames = out.column("frame_id").to_pylist()
    families = out.column("frame_family").to_pylist()
    assert len(set(frames[:400])) >= 3
    top, count = Counter(families[:400]).most_common(1)[0]
    assert count == 400
    assert top not in set(families[400:])
    # without a shared frame, frame_family falls back to template_family
    own = [
        f == t for f, t in zip(families[400:], out.column("template_family").to_pylist()[400:], strict=True)
    ]
    assert sum(own) / 1000 > 0.85
