"""The real material hold-out 4 draws on, read in place from ``../shared/data`` (never copied).

Why one loader: every persona samples from the same pools (prompts, benchmark items, token
shapes, arrival curves, IP ranges), and loading them once keeps a run (and the smoke test,
which generates three tiny datasets) fast. Nothing here is invented except the choice of
which real networks stand for "home ISP", "hosting" and "campus".
"""

from __future__ import annotations

import csv
import gzip
import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

#: Eyeball ISPs (ASN -> ISO country, UTC offset in hours) whose real announced ranges stand
#: for home connections and for the exits of residential proxy networks (which are home
#: connections too). Names checked against ``ip_infra/asn_names.csv``.
RESIDENTIAL_ASNS: dict[int, tuple[str, float]] = {
    7922: ("US", -5),  # Comcast
    20115: ("US", -6),  # Charter
    7018: ("US", -6),  # AT&T
    812: ("CA", -5),  # Rogers
    3320: ("DE", 2),  # Deutsche Telekom
    3209: ("DE", 2),  # Vodafone GmbH
    2856: ("GB", 1),  # BT
    5089: ("GB", 1),  # Virgin Media
    3215: ("FR", 2),  # Orange
    3352: ("ES", 2),  # Telefonica Espana
    1136: ("NL", 2),  # KPN
    4766: ("KR", 9),  # Korea Telecom
    4713: ("JP", 9),  # NTT
    1221: ("AU", 10),  # Telstra
    24560: ("IN", 5.5),  # Airtel
    3462: ("TW", 8),  # Chunghwa
    26599: ("BR", -3),  # Telefonica Brasil
    9299: ("PH", 8),  # PLDT
}
#: Campus networks: the university course sits behind one of these, the academic eval lab
#: behind another (``asn_names.csv``: University of Washington, University of Toronto).
CAMPUS_ASNS: dict[str, int] = {"course": 73, "lab": 239}
#: Hosting providers whose real ranges (lord-alfred / disposable lists) stand for rented
#: servers: the classic fleet's proxy pool and the smaller eval shops' runners.
HOSTING_PROVIDERS: tuple[str, ...] = ("hetzner", "ovh", "digitalocean", "vultr", "linode", "choopa")


@dataclass
class World:
    """Every real pool, loaded once."""

    chat_prompts: list[str]
    code_prompts: list[str]
    arena_prompts: list[str]
    roleplay_prompts: list[str]
    gsm8k_test: list[str]
    gsm8k_train: list[str]
    math_problems: list[str]  # the "Please reason step by step ..." suffix stripped
    math_suffix: str
    bbh: list[tuple[str, str]]  # (task, input)
    humaneval: list[str]
    mbpp: list[str]
    alpaca_libre: list[tuple[str, str]]  # (instruction, input)
    wizard: list[str]
    user_oriented: list[tuple[str, str]]  # (instruction, instance input)
    tool_tasks: list[tuple[str, list[str]]]  # (user turn, function names)
    azure_conv: np.ndarray  # (n, 2) context, generated tokens
    azure_code: np.ndarray
    mooncake: np.ndarray  # (n, 2) input, output lengths
    r1_stats: np.ndarray  # (n, 4) output p50, output p90, reason ratio, input p50
    servegen_curves: list[
        np.ndarray
    ]  # per client: (windows, 4) start_s, rate, kind(0 gamma/1 weibull), p1, p2
    resid_ranges: dict[int, np.ndarray] = field(default_factory=dict)  # asn -> (n, 2) int ranges
    campus_ranges: dict[str, np.ndarray] = field(default_factory=dict)
    hosting_nets: dict[str, list[ipaddress.IPv4Network]] = field(default_factory=dict)
    aws_us_east: list[ipaddress.IPv4Network] = field(default_factory=list)
    gcp_nets: list[ipaddress.IPv4Network] = field(default_factory=list)
    azure_nets: list[ipaddress.IPv4Network] = field(default_factory=list)
    oracle_nets: list[ipaddress.IPv4Network] = field(default_factory=list)
    relay_v4: list[ipaddress.IPv4Network] = field(default_factory=list)
    relay_v6: list[ipaddress.IPv6Network] = field(default_factory=list)

    @classmethod
    def load(cls, data: Path) -> World:
        rc, bp, dp = data / "reasoning_code_tasks", data / "benign_prompts", data / "distillation_prompts"
        share = [r["prompt"] for r in _jsonl(bp / "sharegpt_first_turn_prompts.jsonl") if r["prompt"].strip()]
        share = [p for p in share if len(p) <= 6000]
        code_words = ("def ", "function", "python", "code", "javascript", "sql", "error", "class ", "```")
        code = [p for p in share if any(w in p.lower() for w in code_words)]
        chat = [p for p in share if p not in set(code)]
        arena = [r["turns"][0]["content"] for r in _jsonl(bp / "arena_hard_v0.1_prompts.jsonl")]
        arena += [t for r in _jsonl(bp / "mt_bench_questions.jsonl") for t in r["turns"][:1]]
        with (bp / "awesome_chatgpt_prompts.csv").open(newline="", encoding="utf-8") as f:
            role = [r["prompt"] for r in csv.DictReader(f) if len(r["prompt"]) < 3000]
        suffix = "Please reason step by step, and put your final answer within \\boxed{}."
        math = [
            r["problem"].replace(suffix, "").strip()
            for r in _jsonl(rc / "competition_math_cot_prompts.jsonl")
        ]
        with gzip.open(rc / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as f:
            humaneval = [json.loads(x)["prompt"] for x in f if x.strip()]
        tools = []
        for r in _jsonl(data / "tool_use" / "bfcl_v4_tool_use_tasks.jsonl"):
            turn = r["turns"][0] if r["turns"] else []
            users = [
                m["content"] for m in turn if m.get("role") == "user" and isinstance(m.get("content"), str)
            ]
            if users and users[0].strip():
                tools.append((users[0], list(r.get("function_names") or [])))
        uo = []
        for r in _jsonl(dp / "selfinstruct_user_oriented_instructions.jsonl"):
            for inst in r["instances"][:1]:
                uo.append((r["instruction"], inst.get("input", "")))
        return cls(
            chat_prompts=chat,
            code_prompts=code,
            arena_prompts=arena,
            roleplay_prompts=role,
            gsm8k_test=[r["question"] for r in _jsonl(rc / "gsm8k_test.jsonl")],
            gsm8k_train=[r["question"] for r in _jsonl(rc / "gsm8k_train_questions.jsonl")],
            math_problems=math,
            math_suffix=suffix,
            bbh=[(r["task"], r["input"]) for r in _jsonl(rc / "bbh_all_tasks.jsonl")],
            humaneval=humaneval,
            mbpp=[r["prompt"] for r in _jsonl(rc / "mbppplus_prompts.jsonl")],
            alpaca_libre=[
                (r["instruction"], r.get("input") or "")
                for r in _jsonl(dp / "alpaca_libre_generated_tasks.jsonl")
                if r.get("status") == "ok" and r.get("instruction")
            ],
            wizard=[r["Instruction"] for r in _jsonl(dp / "wizardlm_evol_instruct_testset.jsonl")],
            user_oriented=uo,
            tool_tasks=tools,
            azure_conv=_azure(data / "llm_traces" / "AzureLLMInferenceTrace_conv.csv"),
            azure_code=_azure(data / "llm_traces" / "AzureLLMInferenceTrace_code.csv"),
            mooncake=np.array(
                [
                    (r["input_length"], r["output_length"])
                    for r in _jsonl(data / "llm_traces" / "mooncake_conversation_trace.jsonl")
                ]
            ),
            r1_stats=_r1(data / "servegen" / "deepseek_r1_client_token_stats.csv"),
            servegen_curves=_servegen(data / "servegen" / "m_large_client_rates_3days.csv"),
            **_ip_pools(data / "ip_infra"),
        )


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(x) for x in f if x.strip()]


def _azure(path: Path) -> np.ndarray:
    df = pl.read_csv(path)
    return df.select("ContextTokens", "GeneratedTokens").to_numpy().astype(np.int64)


def _r1(path: Path) -> np.ndarray:
    df = pl.read_csv(path).filter(pl.col("output_p50") > 0)
    return df.select("output_p50", "output_p90", "reason_ratio_mean", "input_p50").to_numpy().astype(float)


def _servegen(path: Path) -> list[np.ndarray]:
    """Per client, its 1,200 s windows over the first day: start, rate, distribution and its parameters."""
    df = pl.read_csv(path).filter(pl.col("window_start_s") < 86_400)
    out = []
    for _, g in df.sort("window_start_s").group_by("client_id", maintain_order=True):
        if g.height < 48:  # active most of the day: a 24/7 service curve
            continue
        kind = (g["arrival_dist"] == "Weibull").cast(pl.Float64).to_numpy()
        out.append(
            np.column_stack(
                [
                    g["window_start_s"].to_numpy(),
                    g["rate_rps"].to_numpy(),
                    kind,
                    g["dist_param1"].to_numpy(),
                    g["dist_param2"].to_numpy(),
                ]
            ).astype(float)
        )
    return out


def _ip_pools(ip: Path) -> dict:
    wanted = set(RESIDENTIAL_ASNS) | set(CAMPUS_ASNS.values())
    rng = (
        pl.read_csv(ip / "asn_ipv4_ranges.csv.gz")
        .filter(pl.col("asn").is_in(list(wanted)))
        .filter((pl.col("ip_end_num") - pl.col("ip_start_num")) >= 255)
    )
    by_asn = {
        int(a): g.select("ip_start_num", "ip_end_num").to_numpy().astype(np.int64)
        for (a,), g in rng.group_by("asn")
    }
    hosting: dict[str, list] = {p: [] for p in HOSTING_PROVIDERS}
    relay4, relay6 = [], []
    for name in ("lordalfred_provider_ranges.csv", "disposable_extra_provider_ranges.csv"):
        with (ip / name).open(newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                net = ipaddress.ip_network(r["cidr"], strict=False)
                if r["provider"] in hosting and net.version == 4:
                    hosting[r["provider"]].append(net)
                elif r["provider"] == "apple-proxy":
                    (relay4 if net.version == 4 else relay6).append(net)
    aws = json.loads((ip / "aws-ip-ranges.json").read_text())
    aws_use1 = [
        ipaddress.ip_network(p["ip_prefix"])
        for p in aws["prefixes"]
        if p["service"] == "EC2" and p["region"] == "us-east-1"
    ]
    gcp = json.loads((ip / "google-cloud-ip-ranges.json").read_text())
    gcp_nets = [ipaddress.ip_network(p["ipv4Prefix"]) for p in gcp["prefixes"] if "ipv4Prefix" in p]
    with (ip / "azure_cloud_regional_ranges.csv").open(newline="", encoding="utf-8") as f:
        az = [ipaddress.ip_network(r["cidr"]) for r in csv.DictReader(f) if r["ip_version"] == "4"]
    orc = json.loads((ip / "oracle-cloud-ip-ranges.json").read_text())
    orc_nets = [
        ipaddress.ip_network(c["cidr"])
        for reg in orc["regions"]
        for c in reg["cidrs"]
        if ":" not in c["cidr"]
    ]
    return {
        "resid_ranges": {a: by_asn[a] for a in RESIDENTIAL_ASNS if a in by_asn},
        "campus_ranges": {k: by_asn[a] for k, a in CAMPUS_ASNS.items() if a in by_asn},
        "hosting_nets": {k: v for k, v in hosting.items() if v},
        "aws_us_east": aws_use1,
        "gcp_nets": gcp_nets,
        "azure_nets": az,
        "oracle_nets": orc_nets,
        "relay_v4": [n for n in relay4 if n.num_addresses >= 4],
        "relay_v6": relay6,
    }


def ip_in_ranges(rng: np.random.Generator, ranges: np.ndarray) -> str:
    """One host address inside a real announced range (weighted by range size)."""
    sizes = (ranges[:, 1] - ranges[:, 0] + 1).astype(float)
    i = rng.choice(len(ranges), p=sizes / sizes.sum())
    lo, hi = int(ranges[i, 0]), int(ranges[i, 1])
    n = lo + int(rng.integers(1, max(2, hi - lo)))
    return str(ipaddress.IPv4Address(min(n, hi)))


def ip_in_nets(rng: np.random.Generator, nets: list) -> str:
    """One host address inside one of ``nets`` (networks picked uniformly, host uniformly)."""
    net = nets[int(rng.integers(len(nets)))]
    if net.num_addresses <= 2:
        return str(net.network_address)
    off = int(rng.integers(1, min(net.num_addresses - 1, 2**62)))
    return str(net.network_address + off)
