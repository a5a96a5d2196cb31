"""The per-text enrichment kernels on Spark (``mapInArrow``) give bit for bit what
:func:`text_parts` gives in this process, and the type conversions Spark forces are undone
exactly. The conversion test needs no Spark; the kernel test uses the engine tests' local[2]
session (skipped outside CI without PySpark or Java, failed in CI)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from tests.engines.spark import session

from distillguard.enrich import _spark_text
from distillguard.enrich._enrich import EnrichParams
from distillguard.enrich._spark_text import SparkTextKernel, _from_spark, _to_spark
from distillguard.enrich._stream import text_parts

#: Texts that exercise every per-text path: placeholders (numbers, quotes, code, URLs,
#: e-mails), CJK words, a shared frame, tag rules (step by step, rubric), empty text.
TEXTS = [
    "Solve the following. Think step by step and show all reasoning: 12 + 7 = ?",
    "Solve the following. Think step by step and show all reasoning: what is 3 * 9?",
    "Grade this answer against the rubric and output a score from 1 to 10: 'Paris'",
    "请一步一步地思考并解释你的推理过程：为什么天空是蓝色的？",
    "Write a Python function `def f(x): return x*2` and explain it; see https://example.com",
    "mail me at someone@example.org about the deploy",
    "",
    "hi",
]


def _texts(n: int) -> tuple[np.ndarray, pa.Array]:
    rng = np.random.default_rng(0)
    texts = [f"{TEXTS[i % len(TEXTS)]} variant {i}" if i >= len(TEXTS) else TEXTS[i] for i in range(n)]
    hashes = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
    hashes[0] = np.uint64(2**64 - 1)  # the top bit set: signed on Spark, unsigned again here
    return hashes, pa.array(texts, pa.string())


def test_spark_types_round_trip_exactly() -> None:
    hashes, texts = _texts(50)
    parts = text_parts("prompt", hashes, texts, EnrichParams(), 0)
    assert any(pa.types.is_fixed_size_list(f.type) for f in parts.schema)
    sparkish = _to_spark(parts)
    assert not any(f.type == pa.uint64() or pa.types.is_fixed_size_list(f.type) for f in sparkish.schema)
    assert _from_spark(sparkish, parts.schema).equals(parts)


@pytest.mark.parametrize("text_field", ["prompt", "system_prompt"])
def test_kernel_on_spark_equals_text_parts(text_field: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spark = session("distillguard-engines-test")
    monkeypatch.setattr(_spark_text, "TEXTS_PER_BATCH", 40)  # several tasks, merged in order
    hashes, texts = _texts(230)
    params = EnrichParams()
    kernel = SparkTextKernel(spark)
    got = kernel(text_field, hashes, texts, params, 7)
    assert kernel.tasks == 6
    want = text_parts(text_field, hashes, texts, params, 7)
    assert got.schema == want.schema
    assert got.equals(want)
    assert kernel(text_field, hashes[:0], texts[:0], params, 7).equals(want.slice(0, 0))
