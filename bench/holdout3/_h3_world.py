"""Real corpora and real IP space, loaded once from ``../shared/data`` (read in place).

Every prompt text, token-size distribution, per-client rate curve and IP address this
generator emits comes from here: nothing is invented except the framing text that real
clients wrap around real prompts (system prompts of agent frameworks, rubric headers).
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Eyeball (residential / mobile) ISPs, matched on RouteViews/DB-IP AS organisation names:
#: the address space residential-proxy networks and ordinary home users egress from.
RESIDENTIAL_ISPS = (
    "Comcast Cable",
    "Charter Communications",
    "Cox Communications",
    "Verizon Business",
    "AT&T Services",
    "Rogers Communications",
    "Deutsche Telekom",
    "Orange S.A.",
    "Telefonica",
    "Vodafone",
    "Telstra",
    "Reliance Jio",
    "KDDI",
    "British Telecommunications",
    "Free SAS",
    "Bouygues",
)
#: The campus whose NAT the university course egresses from (a real AS organisation name).
CAMPUS_ORG = "University of Michigan"
#: Hosting providers proxy-for-hire and harvest fleets rent from (lord-alfred / disposable lists).
HOSTING = ("digitalocean", "vultr", "linode", "hetzner", "ovh", "choopa", "alibaba", "tencent")


def _jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _csv(path: Path) -> list[dict]:
    """Rows of a CSV as dicts of strings (pyarrow parses; Python's csv is 10x slower)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    t = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(newlines_in_values=True))
    cols = {n: t[n].cast(pa.string()).to_pylist() for n in t.column_names}
    return [dict(zip(cols, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]


def _arr(xs: list[str]) -> np.ndarray:
    return np.array(xs, dtype=object)


@dataclass
class World:
    """Prompt pools (object arrays of real text), token samples and IP pools."""

    prompts: dict[str, np.ndarray] = field(default_factory=dict)
    #: Real (context, generated) token pairs from the Azure LLM inference traces.
    chat_tokens: np.ndarray | None = None
    code_tokens: np.ndarray | None = None
    #: ServeGen per-client rate curves: client -> rate per 600 s window over 3 days.
    client_curves: list[np.ndarray] = field(default_factory=list)
    #: ServeGen DeepSeek-R1 reasoning share of output tokens, per client window.
    reason_ratio: np.ndarray | None = None
    #: IPv4/IPv6 CIDRs per pool name.
    cidrs: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, data: Path) -> World:
        w = cls()
        p = w.prompts
        p["sharegpt"] = _arr(
            [r["prompt"] for r in _jsonl(data / "benign_prompts/sharegpt_first_turn_prompts.jsonl")]
        )
        p["arena"] = _arr(
            [r["turns"][0]["content"] for r in _jsonl(data / "benign_prompts/arena_hard_v0.1_prompts.jsonl")]
        )
        mt = _jsonl(data / "benign_prompts/mt_bench_questions.jsonl")
        p["mt_bench"] = _arr([r["turns"][0] for r in mt])
        p["roles"] = _arr([r["prompt"] for r in _csv(data / "benign_prompts/awesome_chatgpt_prompts.csv")])
        rc = data / "reasoning_code_tasks"
        gsm = [r["question"] for r in _jsonl(rc / "gsm8k_test.jsonl")]
        p["gsm8k_test"] = _arr(gsm)
        p["gsm8k_answer"] = _arr([r["answer"] for r in _jsonl(rc / "gsm8k_test.jsonl")])
        p["gsm8k_train"] = _arr([r["question"] for r in _jsonl(rc / "gsm8k_train_questions.jsonl")])
        p["comp_math"] = _arr([r["problem"] for r in _jsonl(rc / "competition_math_cot_prompts.jsonl")])
        p["bbh"] = _arr([r["input"] for r in _jsonl(rc / "bbh_all_tasks.jsonl")])
        with gzip.open(rc / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as f:
            p["humaneval"] = _arr([json.loads(x)["prompt"] for x in f if x.strip()])
        p["mbpp"] = _arr([r["prompt"] for r in _jsonl(rc / "mbppplus_prompts.jsonl")])
        p["simpleqa"] = _arr([r["problem"] for r in _csv(rc / "simpleqa_factual_questions.csv")])
        bfcl = _jsonl(data / "tool_use/bfcl_v4_tool_use_tasks.jsonl")
        p["bfcl"] = _arr([_first_user(r["turns"]) for r in bfcl if _first_user(r["turns"])])
        dp = data / "distillation_prompts"
        lib = [
            r
            for r in _jsonl(dp / "alpaca_libre_generated_tasks.jsonl")
            if r["status"] == "ok" and r["output"]
        ]
        p["libre_instr"] = _arr([(r["instruction"] + ("\n" + r["input"] if r["input"] else "")) for r in lib])
        p["libre_output"] = _arr([r["output"] for r in lib])
        p["wizard"] = _arr([r["Instruction"] for r in _jsonl(dp / "wizardlm_evol_instruct_testset.jsonl")])
        p["selfinstruct_user"] = _arr(
            [r["instruction"] for r in _jsonl(dp / "selfinstruct_user_oriented_instructions.jsonl")]
        )

        tr = data / "llm_traces"
        w.chat_tokens = _token_pairs(tr / "AzureLLMInferenceTrace_conv.csv")
        w.code_tokens = _token_pairs(tr / "AzureLLMInferenceTrace_code.csv")
        w.client_curves = _client_curves(data / "servegen/m_large_client_rates_3days.csv")
        rs = _csv(data / "servegen/deepseek_r1_client_token_stats.csv")
        w.reason_ratio = np.array([float(r["reason_ratio_mean"]) for r in rs if r["reason_ratio_mean"]])

        ip = data / "ip_infra"
        w.cidrs = _ip_pools(ip)
        return w


def _first_user(turns: list) -> str:
    for turn in turns:
        for msg in turn:
            if msg.get("role") == "user" and msg.get("content"):
                return str(msg["content"])
    return ""


def _token_pairs(path: Path) -> np.ndarray:
    rows = _csv(path)
    return np.array([(int(r["ContextTokens"]), int(r["GeneratedTokens"])) for r in rows], dtype=np.int64)


def _client_curves(path: Path) -> list[np.ndarray]:
    """Per-client request rate per 600 s window (3 days = 432 windows; gaps are zero)."""
    by: dict[str, np.ndarray] = {}
    for r in _csv(path):
        a = by.setdefault(r["client_id"], np.zeros(432))
        i = int(float(r["window_start_s"])) // 600
        if 0 <= i < 432:
            a[i] = float(r["rate_rps"])
    # Keep clients active on at least a third of the windows: steady API customers.
    return [a for a in by.values() if (a > 0).mean() > 0.33]


def _ip_pools(ip: Path) -> dict[str, list[str]]:
    pools: dict[str, list[str]] = {}
    for name in ("lordalfred_provider_ranges.csv", "disposable_extra_provider_ranges.csv"):
        for r in _csv(ip / name):
            prov = r["provider"]
            if prov in HOSTING:
                pools.setdefault("hosting", []).append(r["cidr"]) if r["ip_version"] == "4" else None
            elif prov == "apple-proxy":
                pools.setdefault("relay_v" + r["ip_version"], []).append(r["cidr"])
            elif prov == "protonvpn" and r["ip_version"] == "4":
                pools.setdefault("vpn", []).append(r["cidr"])
            elif prov == "zscaler" and r["ip_version"] == "4":
                pools.setdefault("zscaler", []).append(r["cidr"])
            elif prov == "starlink" and r["ip_version"] == "4":
                pools.setdefault("residential", []).append(r["cidr"])
    pools["vpn"] += [x.strip() for x in (ip / "x4b_vpn_ipv4.txt").read_text().split() if "/" in x][:3000]
    aws = json.loads((ip / "aws-ip-ranges.json").read_text())
    pools["aws_us_east_1"] = [
        p["ip_prefix"] for p in aws["prefixes"] if p["service"] == "EC2" and p["region"] == "us-east-1"
    ]
    pools["aws_ec2"] = [p["ip_prefix"] for p in aws["prefixes"] if p["service"] == "EC2"]
    gcp = json.loads((ip / "google-cloud-ip-ranges.json").read_text())
    pools["gcp"] = [p["ipv4Prefix"] for p in gcp["prefixes"] if "ipv4Prefix" in p]
    azure = _csv(ip / "azure_cloud_regional_ranges.csv")
    pools["azure"] = [r["cidr"] for r in azure if r["ip_version"] in ("4", "IPv4", "ipv4")]
    # ASN table: residential ISPs and the campus.
    names = {r["asn"]: r["as_organization"] for r in _csv(ip / "asn_names.csv")}
    isp = re.compile("|".join(re.escape(k) for k in RESIDENTIAL_ISPS), re.IGNORECASE)
    isp_asns = {a for a, o in names.items() if isp.search(o)}
    campus_asns = {a for a, o in names.items() if o == CAMPUS_ORG}
    import pyarrow.csv as pacsv

    t = pacsv.read_csv(ip / "asn_ipv4_ranges.csv.gz")
    asn = t["asn"].to_numpy().astype(str)
    lo, hi = t["ip_start_num"].to_numpy(), t["ip_end_num"].to_numpy()
    big = (hi - lo) >= 255
    for key, wanted in (("residential", isp_asns), ("campus", campus_asns)):
        sel = big & np.isin(asn, np.array(sorted(wanted)))
        pools.setdefault(key, []).extend(
            f"{a}-{b}" for a, b in zip(lo[sel].tolist(), hi[sel].tolist(), strict=True)
        )
    return pools


def _span(c: str) -> tuple[int, int, int]:
    """(version, first address as int, size) of a CIDR or an ``lo-hi`` integer range."""
    if "/" in c:
        n = ipaddress.ip_network(c, strict=False)
        size = min(n.num_addresses, 1 << 24)
        return n.version, int(n.network_address), size
    lo, hi = (int(x) for x in c.split("-"))
    return 4, lo, hi - lo + 1


def sample_ips(
    rng: np.random.Generator, cidrs: list[str], n: int, *, n_prefixes: int | None = None
) -> np.ndarray:
    """``n`` distinct-ish host addresses drawn from (a random subset of) ``cidrs``."""
    pick = rng.choice(len(cidrs), size=min(n_prefixes or len(cidrs), len(cidrs)), replace=False)
    spans = [_span(cidrs[i]) for i in pick]
    which = rng.integers(0, len(spans), size=n)
    out = np.empty(n, dtype=object)
    for j, (ver, base, size) in enumerate(spans):
        sel = np.flatnonzero(which == j)
        if not len(sel):
            continue
        off = rng.integers(1, max(2, size - 1), size=len(sel))
        cls = ipaddress.IPv4Address if ver == 4 else ipaddress.IPv6Address
        out[sel] = [str(cls(base + int(o))) for o in off]
    return out
