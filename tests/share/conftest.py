"""Hand-made providers for the sharing tests: an event dir and a scan dir per provider.

One campaign ("hydra") runs at two providers. Provider A's scan caught it; provider B's
scan did not (its accounts are ``clear``), but they reuse A's payment instrument, a
proxy IP, the harvester's TLS fingerprint and its chain-of-thought prompt templates.
Benign accounts at both providers use their own identifiers, popular user agents and
everyday prompts; benign account 0 at B shares only the campaign's user agent (python-httpx).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillguard.schema import ACCOUNTS_SCHEMA, EVENT_SCHEMA

T0 = datetime(2026, 3, 1, tzinfo=UTC)
POPULAR_UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
ATTACK_TEMPLATES = [
    "Solve the following problem. Articulate the internal reasoning behind your answer step by step, "
    "showing every intermediate thought before the final result: {}",
    "You are grading answers as a reward model. Score the response below from 1 to 10 against the "
    "rubric and explain each criterion in detail: {}",
]
BENIGN_PROMPTS = [
    "what is a good recipe for banana bread",
    "translate 'good morning' into french",
    "help me write a birthday message for my sister",
    "summarize this email thread for me please",
    "why is the sky blue",
]


@dataclass
class Provider:
    name: str
    events: Path
    scan: Path
    attack_accounts: list[str]
    benign_accounts: list[str]
    raw_values: dict[str, set[str]]

    def mark(self, accounts: list[str], *, verdict: str = "suspicious", score: float = 0.45) -> None:
        """Rewrite the scan so ``accounts`` carry ``verdict`` and ``score`` (outside every campaign)."""
        import pyarrow.compute as pc

        path = self.scan / "accounts.parquet"
        table = pq.read_table(path)
        hit = pc.is_in(table["account_id"], pa.array(accounts))
        table = table.set_column(
            table.schema.get_field_index("verdict"), "verdict", pc.if_else(hit, verdict, table["verdict"])
        ).set_column(table.schema.get_field_index("score"), "score", pc.if_else(hit, score, table["score"]))
        pq.write_table(table, path)

    def add_events(self, name: str, rows: list[tuple[str, str]]) -> None:
        """Append events (account, prompt), one second apart from ``T0``, to the event directory."""
        part = self.events / "events" / "day=2026-03-01" / f"{name}.parquet"
        n = len(rows)
        cols = ("event_id", "timestamp", "account_id", "model", "input_tokens", "output_tokens", "prompt")
        table = pa.table(
            {
                "event_id": [f"{name}-{i}" for i in range(n)],
                "timestamp": [T0 + timedelta(seconds=i) for i in range(n)],
                "account_id": [a for a, _ in rows],
                "model": ["model-x"] * n,
                "input_tokens": [10] * n,
                "output_tokens": [10] * n,
                "prompt": [p for _, p in rows],
            },
            schema=pa.schema([EVENT_SCHEMA.field(c) for c in cols]),
        )
        pq.write_table(table, part)


def _write_events(root: Path, rows: dict[str, list]) -> Path:
    table = pa.Table.from_pydict(rows, schema=pa.schema([EVENT_SCHEMA.field(c) for c in rows]))
    out = root / "events" / "day=2026-03-01"
    out.mkdir(parents=True)
    pq.write_table(table, out / "part-0.parquet")
    pq.write_table(pa.table({"reason": pa.array([], pa.string())}), root / "quarantine.parquet")
    return root


def make_provider(
    root: Path, name: str, *, seed: int, caught: bool, n_attack: int = 6, n_benign: int = 12
) -> Provider:
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {
        c: []
        for c in (
            "event_id",
            "timestamp",
            "account_id",
            "model",
            "input_tokens",
            "output_tokens",
            "client_ip",
            "user_agent",
            "tls_fingerprint",
            "payment_fingerprint",
            "prompt",
        )
    }
    raw: dict[str, set[str]] = {k: set() for k in ("ip", "ua", "tls", "payment", "prompt")}

    def add(acc: str, ts: datetime, ip: str, ua: str, tls: str, pay: str, prompt: str) -> None:
        rows["event_id"].append(f"{name}-{len(rows['event_id'])}")
        rows["timestamp"].append(ts)
        rows["account_id"].append(acc)
        rows["model"].append("model-x")
        rows["input_tokens"].append(int(rng.integers(50, 500)))
        rows["output_tokens"].append(int(rng.integers(100, 2000)))
        rows["client_ip"].append(ip)
        rows["user_agent"].append(ua)
        rows["tls_fingerprint"].append(tls)
        rows["payment_fingerprint"].append(pay)
        rows["prompt"].append(prompt)
        for k, v in (("ip", ip), ("ua", ua), ("tls", tls), ("payment", pay), ("prompt", prompt)):
            raw[k].add(v)

    attack = [f"{name}-atk-{i}" for i in range(n_attack)]
    benign = [f"{name}-user-{i}" for i in range(n_benign)]
    for i, acc in enumerate(attack):
        pay = "pm_hydra_shared_card" if i % 2 == 0 else f"pm_hydra_{name}_{i}"
        for j in range(25):
            ts = T0 + timedelta(minutes=10 * j + i)
            ip = "198.51.100.77" if j % 3 == 0 else f"203.0.113.{10 + (i * 7 + j) % 40}"
            task = f"integral of x^{j % 9} times e^x from 0 to {i + j}"
            add(
                acc,
                ts,
                ip,
                "python-httpx/0.27",
                "t13d1516h2_8daaf6152771_hydra",
                pay,
                ATTACK_TEMPLATES[j % 2].format(task),
            )
    for i, acc in enumerate(benign):
        ip = f"10.{seed % 200}.{i}.{int(rng.integers(1, 250))}"
        for j in range(int(rng.integers(3, 10))):
            ts = T0 + timedelta(hours=int(rng.integers(0, 48)))
            ua = POPULAR_UA if i % 3 else "curl/8.5.0"
            if i == 0 and not caught:  # a benign customer using the harvester's HTTP library
                ua = "python-httpx/0.27"
            add(
                acc,
                ts,
                ip,
                ua,
                f"t13d_benign_{name}_{i % 4}",
                f"pm_{name}_{i}",
                BENIGN_PROMPTS[(i + j) % len(BENIGN_PROMPTS)],
            )
    ev_dir = _write_events(root / f"{name}_events", rows)

    scan = root / f"{name}_scan"
    scan.mkdir()
    first, last = T0, T0 + timedelta(minutes=10 * 24 + n_attack)
    campaigns = (
        [
            {
                "campaign_id": "c-0001",
                "accounts": attack,
                "exchanges": 25 * n_attack,
                "score": 0.93,
                "first_seen": first.isoformat(),
                "last_seen": last.isoformat(),
                "evidence": [
                    {"kind": "payment", "detail": "shared card", "accounts": attack[::2], "weight": 1.0}
                ],
                "capabilities": ["cot_elicitation", "rubric_grading"],
                "top_reasons": ["template_repetition"],
            }
        ]
        if caught
        else []
    )
    (scan / "campaigns.json").write_text(json.dumps(campaigns))
    accounts = pa.Table.from_pydict(
        {
            "account_id": attack + benign,
            "score": [0.93 if caught else 0.2] * n_attack + [0.05] * n_benign,
            "verdict": ["attack" if caught else "clear"] * n_attack + ["clear"] * n_benign,
            "campaign_id": ["c-0001" if caught else None] * n_attack + [None] * n_benign,
            "reasons": [["template_repetition"]] * n_attack + [[]] * n_benign,
            "flagged_at": [None] * (n_attack + n_benign),
            "exchanges": [25] * n_attack + [5] * n_benign,
            "first_seen": [first] * (n_attack + n_benign),
            "last_seen": [last] * (n_attack + n_benign),
        },
        schema=ACCOUNTS_SCHEMA,
    )
    pq.write_table(accounts, scan / "accounts.parquet")
    (scan / "scan_meta.json").write_text(json.dumps({"inputs": [str(ev_dir)]}))
    return Provider(name, ev_dir, scan, attack, benign, raw)


@pytest.fixture
def providers(tmp_path: Path) -> tuple[Provider, Provider]:
    """Provider A (caught the campaign) and provider B (did not)."""
    return (
        make_provider(tmp_path, "alpha", seed=1, caught=True),
        make_provider(tmp_path, "beta", seed=2, caught=False),
    )


@pytest.fixture(name="make_provider")
def make_provider_fixture():
    """The provider builder itself, for tests that need more than two providers."""
    return make_provider


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    from distillguard.share import generate_key

    path = tmp_path / "group.key.json"
    generate_key(path)
    return path
