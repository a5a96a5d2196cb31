"""Real public corpora (``shared/data``) loaded once into numpy string pools.

The hold-out generator draws every prompt and every serving statistic from here, so the
traffic it writes carries real text and real per-client rates rather than our own guesses.
Each pool is a numpy object array; personas draw from it with vectorized ``take``.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Prompts longer than this are cut (keeps the Parquet small; real chat UIs also truncate).
MAX_PROMPT_CHARS = 6000
#: A chat prompt counts as a coding question when it matches this (code fences, languages, errors).
CODE_HINT = re.compile(
    r"```|\bdef |\bfunction\b|\bclass \w|\bpython\b|\bjavascript\b|\btypescript\b|\bSQL\b|\bjava\b|"
    r"\bc\+\+|\breact\b|\berror\b|\bbug\b|\bcode\b",
    re.IGNORECASE,
)
#: A ShareGPT prompt counts as non-English when this share of its characters is non-ASCII.
NON_ASCII_SHARE = 0.3


def _jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _pool(texts: list[str]) -> np.ndarray:
    """Deduplicated, non-empty, truncated prompts as an object array (stable order)."""
    seen: dict[str, None] = {}
    for t in texts:
        t = (t or "").strip()[:MAX_PROMPT_CHARS]
        if t:
            seen.setdefault(t, None)
    return np.array(list(seen), dtype=object)


@dataclass(frozen=True)
class Corpus:
    """String pools (prompts) and numeric tables (rates, token sizes) from the public record."""

    chat: np.ndarray  # ShareGPT first turns + Arena-hard + MT-bench, English-ish
    chat_code: np.ndarray  # the chat prompts that are about code (real developers' questions)
    chat_non_english: np.ndarray  # ShareGPT prompts mostly in other scripts
    roles: np.ndarray  # awesome-chatgpt "act as" prompts (system prompts / role play)
    code: np.ndarray  # HumanEval + MBPP+ prompts
    gsm8k_test: np.ndarray
    gsm8k_train: np.ndarray
    competition_math: np.ndarray  # already ends with "Please reason step by step..."
    bbh: np.ndarray
    simpleqa: np.ndarray
    instructions: np.ndarray  # alpaca-libre + self-instruct + WizardLM test instructions
    harvested_pairs: np.ndarray  # (n, 2) instruction/output pairs from the alpaca-libre harvest
    tool_tasks: np.ndarray  # BFCL user turns
    tool_specs: np.ndarray  # BFCL function JSON (for agent system prompts)
    servegen_large: dict[str, np.ndarray]  # m-large per-client rate windows
    servegen_r1: dict[str, np.ndarray]  # deepseek-r1 per-client rate windows
    servegen_r1_tokens: dict[str, np.ndarray]
    servegen_large_tokens: dict[str, np.ndarray]
    azure_conv: np.ndarray  # (n, 2) context, generated tokens
    azure_code: np.ndarray  # (n, 2)
    mooncake: np.ndarray  # (n, 2) input, output lengths


def _numeric_csv(path: Path, numeric: tuple[str, ...]) -> dict[str, np.ndarray]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = {k: np.array([float(r[k]) for r in rows]) for k in numeric}
    if "arrival_dist" in rows[0]:
        out["weibull"] = np.array([r["arrival_dist"] == "Weibull" for r in rows])
    return out


def load_corpus(data: Path) -> Corpus:
    """Read every pool from ``data`` (the ``shared/data`` tree); fails loudly if absent."""
    d = Path(data)
    if not (d / "SOURCES.md").is_file():
        raise SystemExit(f"error: {d} is not the shared data tree (no SOURCES.md)")
    sharegpt = [r["prompt"] for r in _jsonl(d / "benign_prompts/sharegpt_first_turn_prompts.jsonl")]

    def non_ascii(t: str) -> bool:
        return sum(ord(c) > 127 for c in t) > NON_ASCII_SHARE * max(len(t), 1)

    arena = [r["turns"][0]["content"] for r in _jsonl(d / "benign_prompts/arena_hard_v0.1_prompts.jsonl")]
    mt = [t for r in _jsonl(d / "benign_prompts/mt_bench_questions.jsonl") for t in r["turns"]]
    with open(d / "benign_prompts/awesome_chatgpt_prompts.csv", newline="", encoding="utf-8") as fh:
        roles = [r["prompt"] for r in csv.DictReader(fh)]
    code = [r["prompt"] for r in _jsonl(d / "reasoning_code_tasks/HumanEval.jsonl.gz")]
    code += [r["prompt"] for r in _jsonl(d / "reasoning_code_tasks/mbppplus_prompts.jsonl")]
    with open(d / "reasoning_code_tasks/simpleqa_factual_questions.csv", newline="", encoding="utf-8") as fh:
        simpleqa = [r["problem"] for r in csv.DictReader(fh)]
    libre = _jsonl(d / "distillation_prompts/alpaca_libre_generated_tasks.jsonl")
    instr = [(r["instruction"] + ("\n\n" + r["input"] if r["input"] else "")) for r in libre]
    instr += [
        r["instruction"]
        for r in _jsonl(d / "distillation_prompts/selfinstruct_user_oriented_instructions.jsonl")
    ]
    instr += [
        r["Instruction"] for r in _jsonl(d / "distillation_prompts/wizardlm_evol_instruct_testset.jsonl")
    ]
    pairs = np.array(
        [[r["instruction"], r["output"]] for r in libre if r["status"] == "ok" and r["output"]], dtype=object
    )
    bfcl = _jsonl(d / "tool_use/bfcl_v4_tool_use_tasks.jsonl")
    tool_tasks = [r["turns"][0][-1]["content"] for r in bfcl if r["turns"] and r["turns"][0]]
    tool_specs = [json.dumps(r["functions"]) for r in bfcl if r.get("functions")]
    rate_cols = ("client_id", "window_start_s", "rate_rps", "cv", "dist_param1", "dist_param2")
    tok_cols = (
        "client_id",
        "window_start_s",
        "input_mean",
        "input_p50",
        "input_p90",
        "output_mean",
        "output_p50",
        "output_p90",
    )

    def trace(path: Path) -> np.ndarray:
        with open(path, newline="", encoding="utf-8") as fh:
            return np.array(
                [[int(r["ContextTokens"]), int(r["GeneratedTokens"])] for r in csv.DictReader(fh)]
            )

    mooncake = np.array(
        [
            [r["input_length"], r["output_length"]]
            for r in _jsonl(d / "llm_traces/mooncake_conversation_trace.jsonl")
        ]
    )
    return Corpus(
        chat=_pool([t for t in sharegpt if not non_ascii(t)] + arena + mt),
        chat_code=_pool([t for t in sharegpt + arena if not non_ascii(t) and CODE_HINT.search(t)]),
        chat_non_english=_pool([t for t in sharegpt if non_ascii(t)]),
        roles=_pool(roles),
        code=_pool(code),
        gsm8k_test=_pool([r["question"] for r in _jsonl(d / "reasoning_code_tasks/gsm8k_test.jsonl")]),
        gsm8k_train=_pool(
            [r["question"] for r in _jsonl(d / "reasoning_code_tasks/gsm8k_train_questions.jsonl")]
        ),
        competition_math=_pool(
            [r["problem"] for r in _jsonl(d / "reasoning_code_tasks/competition_math_cot_prompts.jsonl")]
        ),
        bbh=_pool([r["input"] for r in _jsonl(d / "reasoning_code_tasks/bbh_all_tasks.jsonl")]),
        simpleqa=_pool(simpleqa),
        instructions=_pool(instr),
        harvested_pairs=pairs,
        tool_tasks=_pool(tool_tasks),
        tool_specs=_pool(tool_specs),
        servegen_large=_numeric_csv(d / "servegen/m_large_client_rates_3days.csv", rate_cols),
        servegen_r1=_numeric_csv(d / "servegen/deepseek_r1_client_rates.csv", rate_cols),
        servegen_r1_tokens=_numeric_csv(
            d / "servegen/deepseek_r1_client_token_stats.csv", (*tok_cols, "reason_ratio_mean")
        ),
        servegen_large_tokens=_numeric_csv(d / "servegen/m_large_client_token_stats.csv", tok_cols),
        azure_conv=trace(d / "llm_traces/AzureLLMInferenceTrace_conv.csv"),
        azure_code=trace(d / "llm_traces/AzureLLMInferenceTrace_code.csv"),
        mooncake=mooncake,
    )
