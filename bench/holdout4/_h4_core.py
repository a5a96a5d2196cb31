"""Accounts, the event buffer and the writer (event schema v1, labels, manifest).

Why a log *source* per account: providers log differently per product and per retention
contract. A ``full`` account's rows carry everything; a ``minimal`` one (zero-retention
customers, billing-grade exports) carries no prompt, system prompt, user agent, TLS
fingerprint or conversation id, and a client IP on only part of its rows. Benign and attack
accounts both come through ``minimal``, so a missing column is not itself a tell.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from distillguard.schema import EVENT_SCHEMA, LABELS_SCHEMA

#: The observed window: Monday 2026-05-04 00:00 UTC, seven days.
WINDOW_START = datetime(2026, 5, 4, tzinfo=UTC).timestamp()
DAYS = 7
#: A new reasoning model goes live on Wednesday 16:00 UTC; fleets pivot to it, and so do
#: evaluation harnesses (they benchmark every release) and many ordinary heavy users.
RELEASE_TS = WINDOW_START + 2 * 86_400 + 16 * 3600
CHAT_MODEL, MINI_MODEL = "atlas-2", "atlas-2-mini"
REASONING_MODEL, NEW_REASONING_MODEL = "atlas-2-think", "atlas-3-think"
REASONING_MODELS = frozenset({REASONING_MODEL, NEW_REASONING_MODEL})
#: Share of a ``minimal`` source's rows that still carry a client IP.
MINIMAL_IP_SHARE = 0.4


@dataclass
class Account:
    """One billing account and what the provider knows about it at signup."""

    account_id: str
    persona: str
    campaign: str | None
    created_at: float
    tier: str
    country: str
    payment: str | None
    user_agent: str | None
    tls: str | None
    source: str = "full"
    keys: list[str] = field(default_factory=list)


class Events:
    """Row buffer; personas append requests, :meth:`write` sorts, ids and partitions them."""

    COLS = (
        "timestamp",
        "account_id",
        "model",
        "input_tokens",
        "output_tokens",
        "reasoning_output_tokens",
        "api_key_id",
        "end_user_id",
        "client_ip",
        "prompt",
        "system_prompt",
        "conversation_id",
        "tool_count",
        "logprobs_requested",
        "stream",
        "temperature",
        "status",
        "duration_ms",
    )

    def __init__(self, seed: int) -> None:
        self.cols: dict[str, list] = {c: [] for c in self.COLS}
        self.accounts: dict[str, Account] = {}
        self.rng = np.random.default_rng([seed, 4040])

    def add_account(self, a: Account) -> Account:
        assert a.account_id not in self.accounts, a.account_id
        if not a.keys:
            a.keys = [f"key-{_h(a.account_id + 'k0')[:12]}"]
        self.accounts[a.account_id] = a
        return a

    def add(
        self,
        a: Account,
        ts: float,
        model: str,
        inp: int,
        out: int,
        *,
        reasoning: int | None = None,
        ip: str | None = None,
        prompt: str | None = None,
        system: str | None = None,
        conv: str | None = None,
        tools: int = 0,
        logprobs: bool = False,
        stream: bool = False,
        temperature: float = 1.0,
        key: str | None = None,
        end_user: str | None = None,
        status: str = "ok",
    ) -> None:
        if not (WINDOW_START <= ts < WINDOW_START + DAYS * 86_400):
            return
        if reasoning is None:
            reasoning = 0
        row = (
            ts,
            a.account_id,
            model,
            int(inp),
            int(out),
            int(reasoning),
            key or a.keys[0],
            end_user,
            ip,
            prompt,
            system,
            conv,
            tools,
            logprobs,
            stream,
            round(float(temperature), 2),
            status,
            int(400 + out * 1000 / 60),
        )
        for c, v in zip(self.COLS, row, strict=True):
            self.cols[c].append(v)

    def write(self, out: Path, seed: int, extra: dict) -> dict:
        """Write ``events/day=*/part-0.parquet``, ``labels.parquet`` and ``manifest.json``."""
        n = len(self.cols["timestamp"])
        ts = np.asarray(self.cols["timestamp"], dtype=float)
        acc = np.asarray(self.cols["account_id"], dtype=object)
        order = np.lexsort((acc, ts))
        accts = self.accounts
        src_min = np.array([accts[x].source == "minimal" for x in acc])
        drop_ip = src_min & (self.rng.random(n) >= MINIMAL_IP_SHARE)
        data: dict[str, list | np.ndarray] = {}
        micros = (ts * 1e6).astype(np.int64)
        data["event_id"] = [f"h4s{seed}-{i:08d}" for i in range(n)]
        data["timestamp"] = micros[order]
        for c in self.COLS[1:]:
            col = self.cols[c]
            if c in ("prompt", "system_prompt", "conversation_id"):
                col = [None if m else v for v, m in zip(col, src_min, strict=True)]
            elif c == "client_ip":
                col = [None if m else v for v, m in zip(col, drop_ip, strict=True)]
            data[c] = [col[i] for i in order]
        per = {
            "provider": lambda a: "local",
            "user_agent": lambda a: None if a.source == "minimal" else a.user_agent,
            "tls_fingerprint": lambda a: None if a.source == "minimal" else a.tls,
            "payment_fingerprint": lambda a: a.payment,
            "account_created_at": lambda a: int(a.created_at * 1e6),
            "account_tier": lambda a: a.tier,
            "account_country": lambda a: a.country,
        }
        ordered_acc = acc[order]
        for c, f in per.items():
            vals = {k: f(v) for k, v in accts.items()}
            data[c] = [vals[x] for x in ordered_acc]
        data["has_image"] = [False] * n
        arrays = []
        for fld in EVENT_SCHEMA:
            v = data[fld.name]
            arrays.append(pa.array(v, type=fld.type))
        table = pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)
        ev_dir = out / "events"
        ev_dir.mkdir(parents=True, exist_ok=True)
        days = pc.strftime(table["timestamp"], format="%Y-%m-%d").to_numpy(zero_copy_only=False)
        for day in sorted(set(days)):
            part = ev_dir / f"day={day}"
            part.mkdir(exist_ok=True)
            pq.write_table(table.filter(pa.array(days == day)), part / "part-0.parquet", compression="zstd")
        # An account with no request in the window is not in the logs, so not in the labels either.
        ids = sorted(set(acc.tolist()))
        labels = pa.Table.from_pydict(
            {
                "account_id": ids,
                "is_attack": [accts[i].campaign is not None for i in ids],
                "campaign": [accts[i].campaign for i in ids],
                "persona": [accts[i].persona for i in ids],
            },
            schema=LABELS_SCHEMA,
        )
        pq.write_table(labels, out / "labels.parquet")
        personas: dict[str, dict] = {}
        for i in ids:
            a = accts[i]
            p = personas.setdefault(a.persona, {"attack": a.campaign is not None, "accounts": 0, "events": 0})
            p["accounts"] += 1
        counts: dict[str, int] = {}
        for x in acc:
            counts[x] = counts.get(x, 0) + 1
        for i in ids:
            personas[accts[i].persona]["events"] += counts.get(i, 0)
        manifest = {
            "generator": "holdout4",
            "seed": seed,
            "events": n,
            "accounts": len(ids),
            "accounts_without_events": len(accts) - len(ids),
            "days": DAYS,
            "window_start": datetime.fromtimestamp(WINDOW_START, UTC).isoformat(),
            "release": datetime.fromtimestamp(RELEASE_TS, UTC).isoformat(),
            "personas": personas,
            **extra,
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
        return manifest


def _h(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def ident(kind: str, *parts: object) -> str:
    """A stable opaque id (``kind-<16 hex>``) from ``parts`` (seed included by the caller)."""
    return f"{kind}-{_h('|'.join(map(str, parts)))[:16]}"


#: Real client user agents (SDKs, browsers' fetch, HTTP libraries); JA4 strings of the right shape,
#: one per TLS stack (python/ssl, Go, Chrome/BoringSSL, Safari/Secure Transport, Node).
UA = {
    "openai_py": ("OpenAI/Python 1.54.3", "t13d1812h1_85036bcba153_b26ce05bbdd6"),
    "openai_py_old": ("OpenAI/Python 1.35.10", "t13d1812h1_85036bcba153_b26ce05bbdd6"),
    "httpx": ("python-httpx/0.27.2", "t13d1812h1_85036bcba153_b26ce05bbdd6"),
    "requests": ("python-requests/2.32.3", "t13d1711h1_5b57614c22b0_3d5424432f57"),
    "aiohttp": ("Python/3.11 aiohttp/3.10.10", "t13d1711h1_5b57614c22b0_3d5424432f57"),
    "node": ("OpenAI/JS 4.67.3", "t13d1516h2_8daaf6152771_e5627efa2ab1"),
    "go": ("Go-http-client/2.0", "t13d1311h2_f57a46bbacb6_ab7e3b40a677"),
    "chrome": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
        "t13d1516h2_8daaf6152771_02713d6af862",
    ),
    "chrome_mac": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "t13d1516h2_8daaf6152771_02713d6af862",
    ),
    "safari": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Safari/605.1.15",
        "t13d2014h2_a09f3c656075_14788d8d241b",
    ),
    "safari_ios": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Mobile/15E148 Safari/604.1",
        "t13d2014h2_a09f3c656075_14788d8d241b",
    ),
    "firefox": (
        "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
        "t13d1715h2_5b57614c22b0_7121afd63204",
    ),
}
