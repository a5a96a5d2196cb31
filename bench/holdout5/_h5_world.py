"""Hold-out 5's world: real corpora read in place, IP ranges per network, the event buffer.

Everything real comes from ``../shared/data`` at run time (never copied into the repo): prompts,
maths and code items, tool-use requests, token sizes of real serving traces, reasoning-model
output shapes and IPv4 ranges of named networks. Everything invented (ids, populations,
schedules) lives in ``_h5_pop.py`` as named constants.
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

#: Window: Monday 2026-06-08 00:00 UTC, seven days.
T0 = datetime(2026, 6, 8, tzinfo=UTC)
DAYS = 7
DAY_S = 86_400
#: A new reasoning model goes live Thursday 2026-06-11 14:00 UTC.
RELEASE_S = 3 * DAY_S + 14 * 3600
NEW_MODEL = "orion-reason-2"
CHAT_MODELS = ("orion-chat", "orion-mini", "orion-pro")
REASON_MODEL = "orion-reason"

#: Home ISPs per declared country (ASN numbers from the RouteViews/DB-IP table) and UTC offset.
COUNTRIES: dict[str, tuple[tuple[int, ...], int]] = {
    "US": ((7922, 7018, 701), -6),
    "DE": ((3320,), 1),
    "FR": ((3215, 12322), 1),
    "GB": ((2856, 5089), 0),
    "JP": ((4713, 17676), 9),
    "KR": ((4766,), 9),
    "IN": ((55836,), 5),
    "MX": ((8151,), -6),
    "IT": ((3269,), 1),
    "NL": ((1136,), 1),
    "PH": ((9299,), 8),
}
COUNTRY_WEIGHTS = {
    "US": 0.34,
    "DE": 0.08,
    "FR": 0.07,
    "GB": 0.08,
    "JP": 0.07,
    "KR": 0.05,
    "IN": 0.12,
    "MX": 0.05,
    "IT": 0.04,
    "NL": 0.04,
    "PH": 0.06,
}
CLOUD_ASNS = {
    "aws": (16509, 14618),
    "gcp": (396982,),
    "azure": (8075,),
    "hetzner": (24940,),
    "ovh": (16276,),
    "digitalocean": (14061,),
    "vultr": (20473,),
    "oracle": (31898,),
}
UNIVERSITY_ASNS = (3, 2)


def _jsonl(p: Path) -> list[dict]:
    with open(p, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass
class World:
    """The real material every population draws from."""

    chat: list[str]
    code_chat: list[str]
    diverse_instr: list[str]
    code_instr: list[str]
    math_train: list[str]
    math_comp: list[str]
    gsm_test: list[str]
    bbh: list[str]
    humaneval: list[str]
    mbpp: list[str]
    simpleqa: list[str]
    tool_queries: list[str]
    conv_tokens: np.ndarray  # (n, 2) context, generated
    code_tokens: np.ndarray
    r1_stats: np.ndarray  # (n, 3) output p50, output p90, reason_ratio_mean
    ranges: dict[int, np.ndarray] = field(default_factory=dict)  # asn -> (k, 2) start, end
    _cum: dict[int, np.ndarray] = field(default_factory=dict)  # id(ranges) -> cumulative sizes

    @classmethod
    def load(cls, data: Path) -> World:
        d = Path(data)
        share = [r["prompt"] for r in _jsonl(d / "benign_prompts/sharegpt_first_turn_prompts.jsonl")]
        arena = [r["turns"][0]["content"] for r in _jsonl(d / "benign_prompts/arena_hard_v0.1_prompts.jsonl")]
        mt = [r["turns"][0] for r in _jsonl(d / "benign_prompts/mt_bench_questions.jsonl")]
        share = [s for s in share if 8 <= len(s) <= 6000]
        code_kw = ("python", "code", "function", "sql", "javascript", "error", "script", "```", "class ")
        code_chat = [s for s in share + arena if any(k in s.lower() for k in code_kw)]
        alpaca = [
            r["instruction"] for r in _jsonl(d / "distillation_prompts/alpaca_libre_generated_tasks.jsonl")
        ]
        selfi = [
            r["instruction"]
            for r in _jsonl(d / "distillation_prompts/selfinstruct_user_oriented_instructions.jsonl")
        ]
        wiz = _jsonl(d / "distillation_prompts/wizardlm_evol_instruct_testset.jsonl")
        code_instr = [
            a
            for a in alpaca
            if any(k in a.lower() for k in ("program", "code", "function", "algorithm", "python", "sql"))
        ]
        code_instr += [
            r["Instruction"]
            for r in wiz
            if r["Skill"] in ("Code Generation", "Code Debug", "Computer Science")
        ]
        math_comp = [
            r["problem"].split("\nPlease reason step by step")[0]
            for r in _jsonl(d / "reasoning_code_tasks/competition_math_cot_prompts.jsonl")
        ]
        math_train = [r["question"] for r in _jsonl(d / "reasoning_code_tasks/gsm8k_train_questions.jsonl")]
        math_train += [r["Instruction"] for r in wiz if r["Skill"] == "Math"]
        with gzip.open(d / "reasoning_code_tasks/HumanEval.jsonl.gz", "rt") as f:
            humaneval = [json.loads(line)["prompt"] for line in f if line.strip()]
        with open(d / "reasoning_code_tasks/simpleqa_factual_questions.csv", encoding="utf-8") as f:
            simpleqa = [r["problem"] for r in csv.DictReader(f)]
        tools = []
        for r in _jsonl(d / "tool_use/bfcl_v4_tool_use_tasks.jsonl"):
            try:
                tools.append(r["turns"][0][0]["content"])
            except (IndexError, KeyError, TypeError):
                continue
        w = cls(
            chat=share + arena + mt,
            code_chat=code_chat,
            diverse_instr=alpaca + selfi + [r["Instruction"] for r in wiz],
            code_instr=code_instr,
            math_train=math_train,
            math_comp=math_comp,
            gsm_test=[r["question"] for r in _jsonl(d / "reasoning_code_tasks/gsm8k_test.jsonl")],
            bbh=[r["input"] for r in _jsonl(d / "reasoning_code_tasks/bbh_all_tasks.jsonl")],
            humaneval=humaneval,
            mbpp=[r["prompt"] for r in _jsonl(d / "reasoning_code_tasks/mbppplus_prompts.jsonl")],
            simpleqa=simpleqa,
            tool_queries=[t for t in tools if isinstance(t, str) and t],
            conv_tokens=_azure(d / "llm_traces/AzureLLMInferenceTrace_conv.csv"),
            code_tokens=_azure(d / "llm_traces/AzureLLMInferenceTrace_code.csv"),
            r1_stats=_r1(d / "servegen/deepseek_r1_client_token_stats.csv"),
        )
        w.ranges = _ranges(d / "ip_infra/asn_ipv4_ranges.csv.gz", _wanted_asns())
        return w

    def ip(self, rng: np.random.Generator, asns: tuple[int, ...]) -> str:
        """A random address inside one of the networks' announced ranges (weighted by size)."""
        r = self.ranges[asns[int(rng.integers(len(asns)))]]
        cum = self._cum.get(id(r))
        if cum is None:
            cum = self._cum[id(r)] = np.cumsum(r[:, 1] - r[:, 0] + 1)
        k = int(np.searchsorted(cum, rng.integers(0, cum[-1]), side="right"))
        n = int(r[k, 0] + rng.integers(0, r[k, 1] - r[k, 0] + 1))
        return f"{n >> 24 & 255}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"

    def home_ip(self, rng: np.random.Generator, country: str) -> str:
        return self.ip(rng, COUNTRIES[country][0])

    def cloud_ip(self, rng: np.random.Generator, cloud: str) -> str:
        return self.ip(rng, CLOUD_ASNS[cloud])

    def tokens(self, rng: np.random.Generator, kind: str, model: str) -> tuple[int, int, int]:
        """(input, output, reasoning) tokens: Azure chat/code sizes, R1 shapes on reasoning models."""
        tab = self.code_tokens if kind == "code" else self.conv_tokens
        ctx, gen = tab[int(rng.integers(len(tab)))]
        inp = int(max(8, ctx * rng.uniform(0.3, 1.0) if kind == "code" else ctx))
        if model in (REASON_MODEL, NEW_MODEL):
            p50, p90, rr = self.r1_stats[int(rng.integers(len(self.r1_stats)))]
            sigma = max(0.1, np.log(max(p90, p50 + 1) / max(p50, 1)) / 1.2816)
            out = int(np.clip(rng.lognormal(np.log(max(p50, 16)), sigma), 16, 32_000))
            return inp, out, int(out * float(np.clip(rr + rng.normal(0, 0.05), 0.05, 0.95)))
        return inp, int(max(1, gen)), 0


def _azure(p: Path) -> np.ndarray:
    with open(p, encoding="utf-8") as f:
        rows = [(int(r["ContextTokens"]), int(r["GeneratedTokens"])) for r in csv.DictReader(f)]
    return np.array(rows, dtype=np.int64)


def _r1(p: Path) -> np.ndarray:
    with open(p, encoding="utf-8") as f:
        rows = [
            (float(r["output_p50"]), float(r["output_p90"]), float(r["reason_ratio_mean"]))
            for r in csv.DictReader(f)
            if r["output_p50"] and r["reason_ratio_mean"]
        ]
    return np.array(rows)


def _wanted_asns() -> set[int]:
    s = {a for asns, _ in COUNTRIES.values() for a in asns}
    s |= {a for asns in CLOUD_ASNS.values() for a in asns}
    return s | set(UNIVERSITY_ASNS)


def _ranges(p: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    out: dict[int, list[tuple[int, int]]] = {a: [] for a in wanted}
    with gzip.open(p, "rt") as f:
        for r in csv.DictReader(f):
            a = int(r["asn"])
            if a in out:
                out[a].append((int(r["ip_start_num"]), int(r["ip_end_num"])))
    missing = [a for a, v in out.items() if not v]
    if missing:
        raise SystemExit(f"error: no IPv4 ranges for ASNs {missing} in {p}")
    return {a: np.array(v, dtype=np.int64) for a, v in out.items()}


#: Columns a ``minimal`` (zero-retention, billing-grade) log source leaves empty.
MINIMAL_DROPS = ("prompt", "system_prompt", "user_agent", "tls_fingerprint", "conversation_id")
COLUMNS = (
    "event_id",
    "timestamp",
    "account_id",
    "model",
    "input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
    "api_key_id",
    "end_user_id",
    "client_ip",
    "user_agent",
    "tls_fingerprint",
    "payment_fingerprint",
    "account_created_at",
    "account_tier",
    "account_country",
    "prompt",
    "system_prompt",
    "conversation_id",
    "tool_count",
    "has_image",
    "logprobs_requested",
    "stream",
    "temperature",
    "status",
    "duration_ms",
)


@dataclass
class Account:
    account_id: str
    persona: str
    is_attack: bool
    campaign: str | None
    payment: str | None
    created_s: float  # seconds relative to T0 (negative: before the window)
    tier: str
    country: str
    user_agent: str
    tls: str
    minimal: bool = False


class Events:
    """Column buffers for every population, written once as day partitions."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng([seed, 5])
        self.cols: dict[str, list] = {c: [] for c in COLUMNS}
        self.accounts: list[Account] = []
        self._n = 0

    def new_id(self, prefix: str, rng: np.random.Generator) -> str:
        return f"{prefix}_{rng.integers(0, 2**48):012x}"

    def add_account(self, a: Account) -> Account:
        self.accounts.append(a)
        return a

    def add(
        self,
        a: Account,
        t: float,
        model: str,
        toks: tuple[int, int, int],
        *,
        key: str,
        ip: str | None,
        prompt: str | None,
        system: str | None = None,
        conv: str | None = None,
        end_user: str | None = None,
        tools: int = 0,
        logprobs: bool = False,
        stream: bool = True,
        temperature: float | None = 0.7,
    ) -> None:
        """One request at ``t`` seconds after T0 (dropped if outside the window)."""
        if not 0 <= t < DAYS * DAY_S:
            return
        self._n += 1
        c = self.cols
        inp, out, rea = toks
        c["event_id"].append(f"req_{self._n:09d}")
        c["timestamp"].append(int((T0.timestamp() + t) * 1000))
        c["account_id"].append(a.account_id)
        c["model"].append(model)
        c["input_tokens"].append(inp)
        c["output_tokens"].append(out)
        c["reasoning_output_tokens"].append(rea)
        c["api_key_id"].append(key)
        c["end_user_id"].append(end_user)
        c["client_ip"].append(None if a.minimal and self.rng.random() > 0.4 else ip)
        c["user_agent"].append(None if a.minimal else a.user_agent)
        c["tls_fingerprint"].append(None if a.minimal else a.tls)
        c["payment_fingerprint"].append(a.payment)
        c["account_created_at"].append(int((T0.timestamp() + a.created_s) * 1000))
        c["account_tier"].append(a.tier)
        c["account_country"].append(a.country)
        c["prompt"].append(None if a.minimal else prompt)
        c["system_prompt"].append(None if a.minimal else system)
        c["conversation_id"].append(None if a.minimal else conv)
        c["tool_count"].append(tools)
        c["has_image"].append(False)
        c["logprobs_requested"].append(logprobs)
        c["stream"].append(stream)
        c["temperature"].append(temperature)
        c["status"].append("ok")
        c["duration_ms"].append(int(200 + out * 18 + self.rng.exponential(300)))

    def write(self, out: Path, seed: int, extra: dict) -> dict:
        ts = pa.array(self.cols["timestamp"], pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
        arrays = {k: v for k, v in self.cols.items() if k not in ("timestamp", "account_created_at")}
        tab = pa.table(
            {
                **{k: pa.array(v) for k, v in arrays.items()},
                "timestamp": ts,
                "account_created_at": pa.array(self.cols["account_created_at"], pa.int64()).cast(
                    pa.timestamp("ms", tz="UTC")
                ),
            }
        ).select(list(COLUMNS))
        order = np.argsort(np.asarray(self.cols["timestamp"]), kind="stable")
        tab = tab.take(pa.array(order))
        day = (np.asarray(self.cols["timestamp"])[order] // (DAY_S * 1000)).astype(np.int64)
        for d in np.unique(day):
            name = datetime.fromtimestamp(int(d) * DAY_S, UTC).strftime("%Y-%m-%d")
            p = out / "events" / f"day={name}" / "part-0.parquet"
            p.parent.mkdir(parents=True, exist_ok=True)
            idx = np.flatnonzero(day == d)
            pq.write_table(tab.slice(int(idx[0]), len(idx)), p)
        seen = set(self.cols["account_id"])
        accts = [a for a in self.accounts if a.account_id in seen]
        pq.write_table(
            pa.table(
                {
                    "account_id": [a.account_id for a in accts],
                    "is_attack": [a.is_attack for a in accts],
                    "campaign": [a.campaign for a in accts],
                    "persona": [a.persona for a in accts],
                }
            ),
            out / "labels.parquet",
        )
        personas: dict[str, dict] = {}
        counts: dict[str, int] = {}
        for aid in self.cols["account_id"]:
            counts[aid] = counts.get(aid, 0) + 1
        for a in accts:
            p = personas.setdefault(a.persona, {"attack": a.is_attack, "accounts": 0, "events": 0})
            p["accounts"] += 1
            p["events"] += counts[a.account_id]
        m = {
            "seed": seed,
            "events": len(self.cols["event_id"]),
            "accounts": len(accts),
            "personas": personas,
            **extra,
        }
        (out / "manifest.json").write_text(json.dumps(m, indent=1))
        return m
