"""Real corpora from ``../shared/data``, read in place into Arrow string pools.

Prompts are truncated to `MAX_PROMPT_CHARS` (pasted documents stay long but bounded, so
the event files stay a manageable size). Meta-prompts of the self-instruct and
Evol-Instruct pipelines are assembled from their real templates and seed tasks.
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

#: Longest prompt kept (characters); longer real prompts are cut, not dropped.
MAX_PROMPT_CHARS = 3000
#: How many self-instruct / Evol-Instruct meta-prompts to assemble per run.
N_META_PROMPTS = 1500


def _jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _pool(texts: list[str]) -> pa.Array:
    return pa.array([t[:MAX_PROMPT_CHARS] for t in texts if t and t.strip()], pa.string())


def _csv_cols(path: Path, cols: list[str]) -> dict[str, np.ndarray]:
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out: dict[str, np.ndarray] = {}
    for c in cols:
        vals = [r[c] for r in rows]
        try:
            out[c] = np.array(vals, dtype=float)
        except ValueError:
            out[c] = np.array(vals, dtype=object)
    return out


@dataclass
class Corpus:
    """Prompt pools (``pa.StringArray``) and real workload statistics (numpy)."""

    text: dict[str, pa.Array]
    tool_count: np.ndarray  # per ``text["tools"]`` row: functions offered
    stats: dict[str, dict[str, np.ndarray]]

    @classmethod
    def load(cls, data: Path, rng: np.random.Generator) -> Corpus:
        bp, dp, rp, tp = (
            data / "benign_prompts",
            data / "distillation_prompts",
            data / "reasoning_code_tasks",
            data / "tool_use",
        )
        t: dict[str, pa.Array] = {}
        t["sharegpt"] = _pool([r["prompt"] for r in _jsonl(bp / "sharegpt_first_turn_prompts.jsonl")])
        t["arena"] = _pool([r["turns"][0]["content"] for r in _jsonl(bp / "arena_hard_v0.1_prompts.jsonl")])
        t["mtbench"] = _pool([r["turns"][0] for r in _jsonl(bp / "mt_bench_questions.jsonl")])
        with open(bp / "awesome_chatgpt_prompts.csv", encoding="utf-8") as f:
            t["actas"] = _pool([r["prompt"] for r in csv.DictReader(f)])
        t["gsm8k_train"] = _pool([r["question"] for r in _jsonl(rp / "gsm8k_train_questions.jsonl")])
        t["gsm8k_test"] = _pool([r["question"] for r in _jsonl(rp / "gsm8k_test.jsonl")])
        math = _jsonl(rp / "competition_math_cot_prompts.jsonl")
        t["math"] = _pool([r["problem"] for r in math])
        suffix = "\nPlease reason step by step"
        t["math_bare"] = _pool([r["problem"].split(suffix)[0] for r in math])
        t["bbh"] = _pool([r["input"] for r in _jsonl(rp / "bbh_all_tasks.jsonl")])
        t["humaneval"] = _pool([r["prompt"] for r in _jsonl(rp / "HumanEval.jsonl.gz")])
        t["mbpp"] = _pool([r["prompt"] for r in _jsonl(rp / "mbppplus_prompts.jsonl")])
        with open(rp / "simpleqa_factual_questions.csv", encoding="utf-8") as f:
            t["simpleqa"] = _pool([r["problem"] for r in csv.DictReader(f)])
        libre = _jsonl(dp / "alpaca_libre_generated_tasks.jsonl")
        t["alpaca_tasks"] = _pool(
            [r["instruction"] + (f"\n\n{r['input']}" if r.get("input") else "") for r in libre]
        )
        t["user_oriented"] = _pool(
            [
                r["instruction"] + (f"\n\n{r['instances'][0]['input']}" if r["instances"][0]["input"] else "")
                for r in _jsonl(dp / "selfinstruct_user_oriented_instructions.jsonl")
            ]
        )
        t["selfinstruct_meta"], t["evol_meta"] = _meta_prompts(dp, rng, libre)
        tools = _jsonl(tp / "bfcl_v4_tool_use_tasks.jsonl")
        first_user = [next((m["content"] for m in r["turns"][0] if m["role"] == "user"), "") for r in tools]
        keep = [i for i, s in enumerate(first_user) if s and s.strip()]
        t["tools"] = pa.array([first_user[i][:MAX_PROMPT_CHARS] for i in keep], pa.string())
        tool_count = np.array(
            [
                max(len(tools[i].get("functions") or []), len(tools[i].get("function_names") or []), 1)
                for i in keep
            ]
        )
        t["tool_schemas"] = pa.array(
            [
                json.dumps(tools[i].get("functions") or tools[i].get("function_names"))[:MAX_PROMPT_CHARS]
                for i in keep
            ],
            pa.string(),
        )
        t["toolbench"] = _pool([r["query"] for r in _jsonl(tp / "toolbench_example_queries.jsonl")])
        sg = data / "servegen"
        stat_cols = ["client_id", "input_p50", "input_p90", "output_p50", "output_p90"]
        stats = {
            "chat_tokens": _csv_cols(sg / "m_large_client_token_stats.csv", stat_cols),
            "reason_tokens": _csv_cols(
                sg / "deepseek_r1_client_token_stats.csv", [*stat_cols, "reason_ratio_mean"]
            ),
            "chat_rates": _csv_cols(
                sg / "m_large_client_rates_3days.csv", ["client_id", "window_start_s", "rate_rps", "cv"]
            ),
            "reason_rates": _csv_cols(
                sg / "deepseek_r1_client_rates.csv", ["client_id", "window_start_s", "rate_rps", "cv"]
            ),
            "azure_code": _csv_cols(
                data / "llm_traces" / "AzureLLMInferenceTrace_code.csv", ["ContextTokens", "GeneratedTokens"]
            ),
            "azure_conv": _csv_cols(
                data / "llm_traces" / "AzureLLMInferenceTrace_conv.csv", ["ContextTokens", "GeneratedTokens"]
            ),
        }
        return cls(text=t, tool_count=tool_count, stats=stats)


def _meta_prompts(
    dp: Path, rng: np.random.Generator, libre: list[dict[str, Any]]
) -> tuple[pa.Array, pa.Array]:
    """Self-instruct generation requests (real template + 3 real seed tasks) and
    Evol-Instruct rewrite requests (real meta-prompt + a real generated instruction)."""
    head = (dp / "alpaca_generation_prompt_template.txt").read_text(encoding="utf-8").rstrip()
    seeds = _jsonl(dp / "alpaca_selfinstruct_seed_tasks.jsonl")
    meta = []
    for _ in range(N_META_PROMPTS):
        picked = rng.choice(len(seeds), size=3, replace=False)
        parts = [head]
        for k, i in enumerate(picked):
            inst = seeds[int(i)]["instances"][0]
            inp = inst["input"] or "<noinput>"
            j = k + 1
            instruction = seeds[int(i)]["instruction"]
            parts.append(
                f"{j}. Instruction: {instruction}\n{j}. Input:\n{inp}\n{j}. Output:\n{inst['output']}"
            )
        meta.append("\n###\n".join(parts)[:MAX_PROMPT_CHARS])
    evol = json.loads((dp / "evol_instruct_prompt_templates.json").read_text(encoding="utf-8"))
    methods = list(evol["depth_methods"].values())
    base = evol["depth_base_instruction"]
    rewrites = []
    for _ in range(N_META_PROMPTS):
        m = methods[int(rng.integers(len(methods)))]
        given = libre[int(rng.integers(len(libre)))]["instruction"]
        rewrites.append(
            (base.format(m) + f"#The Given Prompt#:\n{given}\n#Rewritten Prompt#:\n")[:MAX_PROMPT_CHARS]
        )
    return pa.array(meta, pa.string()), pa.array(rewrites, pa.string())
