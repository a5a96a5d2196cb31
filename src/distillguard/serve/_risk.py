"""The in-memory risk index the gateway reads: one dict lookup per request.

Why a dict rebuilt after each increment and swapped in whole: lookups never wait on a
lock or a file, and a reader sees either the previous scan or the next one, never half
of each. It is built from the state's last scan (``DIR/scan/accounts.parquet``: score,
verdict, campaign, ordered reasons, ``flagged_at`` from the state's verdict history).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillguard.serve._params import ActionPolicy


@dataclass(frozen=True)
class AccountRisk:
    score: float
    verdict: str
    campaign_id: str | None
    reasons: tuple[str, ...]
    flagged_at: str | None


@dataclass
class RiskIndex:
    """Accounts of one scan, the campaigns' members, and when the scan was made."""

    accounts: dict[str, AccountRisk]
    campaigns: dict[str, list[str]]
    increment: int | None = None
    watermark: str | None = None
    loaded_at: float = 0.0
    #: encoded answers of known accounts, filled on first lookup (the index never changes)
    _encoded: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    _encoded_for: tuple[ActionPolicy, int] | None = field(default=None, repr=False, compare=False)
    _unknown_tail: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def empty(cls) -> RiskIndex:
        return cls({}, {})

    @classmethod
    def load(cls, scan_dir: Path) -> RiskIndex:
        """The index of the scan in ``scan_dir`` (empty when the state was never scored)."""
        import time

        import pyarrow.parquet as pq

        path = scan_dir / "accounts.parquet"
        if not path.exists():
            return cls.empty()
        table = pq.read_table(
            path, columns=["account_id", "score", "verdict", "campaign_id", "reasons", "flagged_at"]
        )
        cols = {name: table[name].to_pylist() for name in table.column_names}
        accounts = {}
        for i, acc in enumerate(cols["account_id"]):
            flagged = cols["flagged_at"][i]
            accounts[acc] = AccountRisk(
                float(cols["score"][i]),
                str(cols["verdict"][i]),
                cols["campaign_id"][i],
                tuple(cols["reasons"][i] or ()),
                flagged.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if flagged else None,
            )
        campaigns: dict[str, list[str]] = {}
        for acc, risk in accounts.items():
            if risk.campaign_id:
                campaigns.setdefault(risk.campaign_id, []).append(acc)
        meta: dict[str, Any] = {}
        if (scan_dir / "scan_meta.json").exists():
            try:
                meta = json.loads((scan_dir / "scan_meta.json").read_text()).get("state", {}) or {}
            except ValueError:
                meta = {}
        incs = meta.get("increments") or []
        wm = incs[-1].get("watermark") if incs else None
        return cls(accounts, campaigns, meta.get("scored_increment"), str(wm) if wm else None, time.time())

    def answer(self, account_id: str, policy: ActionPolicy, top_reasons: int) -> tuple[bytes, bool]:
        """``lookup`` as JSON bytes, and whether the account is known.

        Why cached: the gateway asks about the same accounts over and over and the index
        is immutable (a new scan is a new index), so a known account's answer is encoded
        once; json.dumps per request was a sixth of the lookup's CPU. Unknown accounts are
        not kept (their ids are whatever callers send): their id is put in front of the
        rest of the unknown answer, encoded once.
        """
        made_for = self._encoded_for
        if made_for is None or made_for[0] is not policy or made_for[1] != top_reasons:
            self._encoded.clear()
            self._encoded_for = (policy, top_reasons)
            # an unknown account's answer is the same but for its id (json.dumps puts
            # account_id first): encode the rest once
            rest = json.dumps(self.lookup("", policy, top_reasons))
            self._unknown_tail = rest[rest.index(", ") :].encode()
        body = self._encoded.get(account_id)
        if body is not None:
            return body, True
        if account_id not in self.accounts:
            return b'{"account_id": ' + json.dumps(account_id).encode() + self._unknown_tail, False
        body = json.dumps(self.lookup(account_id, policy, top_reasons)).encode()
        self._encoded[account_id] = body
        return body, True

    def lookup(self, account_id: str, policy: ActionPolicy, top_reasons: int) -> dict[str, Any]:
        risk = self.accounts.get(account_id)
        if risk is None:
            return {
                "account_id": account_id,
                "known": False,
                "score": 0.0,
                "verdict": None,
                "campaign_id": None,
                "reasons": [],
                "flagged_at": None,
                "action": policy.action(None, None),
            }
        return {
            "account_id": account_id,
            "known": True,
            "score": risk.score,
            "verdict": risk.verdict,
            "campaign_id": risk.campaign_id,
            "reasons": list(risk.reasons[:top_reasons]),
            "flagged_at": risk.flagged_at,
            "action": policy.action(risk.verdict, risk.score),
        }
