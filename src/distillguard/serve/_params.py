"""Every knob of ``distillguard serve`` in one place, loadable from a small TOML file.

Why a file and not only flags: the action mapping (which verdict and score make a gateway
throttle, verify or block) is policy a provider tunes without redeploying; the rest are
limits that bound what one request or one increment may cost.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from distillguard.detectors.base import documented, param
from distillguard.errors import DistillguardError

#: What a gateway may be told to do with an account's next request, mildest first.
ACTIONS = ("allow", "throttle", "verify", "degrade_reasoning", "block")


@dataclass(frozen=True)
class ActionPolicy:
    """Verdict and score -> recommended action.

    The verdict picks a base action; a score at or above ``block_min_score`` turns an
    ``attack`` into ``block`` (below it an attack is only degraded: the evidence is
    corroborated but not overwhelming). Accounts the state never saw get ``unknown``.
    """

    attack: str = param("block", "action for an account whose verdict is attack")
    attack_below_block_score: str = param(
        "degrade_reasoning", "action for an attack whose score is below block_min_score"
    )
    block_min_score: float = param(0.0, "an attack at or above this score gets `attack` (0: every attack)")
    suspicious: str = param("verify", "action for an account whose verdict is suspicious")
    suspicious_min_score: float = param(
        0.0, "a suspicious account below this score gets `suspicious_low` instead (0: never)"
    )
    suspicious_low: str = param("throttle", "action for a suspicious account below suspicious_min_score")
    clear: str = param("allow", "action for an account whose verdict is clear")
    unknown: str = param("allow", "action for an account the state has never seen")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str) and value not in ACTIONS:
                raise DistillguardError(
                    f"action policy {f.name} = {value!r}: choose one of {', '.join(ACTIONS)}"
                )

    def action(self, verdict: str | None, score: float | None) -> str:
        s = float(score or 0.0)
        if verdict == "attack":
            return self.attack if s >= self.block_min_score else self.attack_below_block_score
        if verdict == "suspicious":
            return self.suspicious if s >= self.suspicious_min_score else self.suspicious_low
        if verdict == "clear":
            return self.clear
        return self.unknown


@dataclass(frozen=True)
class ServeParams:
    """Limits and timings of the server (written to ``/v1/admin/status``)."""

    increment_interval_s: float = param(
        60.0,
        "seconds from the start of one background increment (closed WAL segments -> the state) to"
        " the start of the next; one that takes longer is followed at once",
    )
    segment_max_bytes: int = param(
        64 << 20,
        "a write-ahead segment is closed once it holds this many bytes (an increment also closes it)",
    )
    max_body_bytes: int = param(
        64 << 20, "largest request body accepted (after gzip decompression); larger gets 413"
    )
    max_quarantine_in_response: int = param(
        100, "quarantined rows listed in one ingest response (all are counted and kept in the state)"
    )
    max_batch_accounts: int = param(10_000, "largest account list one POST /v1/risk:batch may ask about")
    top_reasons: int = param(3, "reasons returned per account by the risk endpoints")
    webhook_max_attempts: int = param(6, "deliveries tried per webhook event before it is logged as failed")
    webhook_backoff_s: float = param(0.5, "first retry delay; doubles after every failed attempt")
    webhook_timeout_s: float = param(5.0, "seconds one webhook delivery may take")
    increment_timeout_s: float = param(3600.0, "an increment subprocess running longer than this is killed")
    increment_nice: int = param(
        10,
        "niceness added to the increment subprocess: scoring is background work and must not take"
        " the CPU from risk lookups (0 keeps the server's priority)",
    )
    decode_workers: int = param(
        0,
        "processes that validate request bodies (0: threads of the server process). For machines"
        " with cores to spare; on the 2-core bench machine N=2 measured slower than threads",
    )
    webhook_urls: tuple[str, ...] = field(default=(), metadata={"doc": "receivers of webhook events"})
    actions: ActionPolicy = field(default_factory=ActionPolicy, metadata={"doc": "verdict -> action"})

    def documented(self) -> dict[str, dict[str, Any]]:
        out = documented(self, "serve.")
        out.pop("serve.actions")
        out.update(documented(self.actions, "serve.actions."))
        return out


def load_params(path: str | Path | None, **overrides: Any) -> ServeParams:
    """ServeParams from a TOML file (top-level keys, an ``[actions]`` table), then overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except OSError as err:
            raise DistillguardError(f"cannot read --config {p}: {err.strerror or err}") from None
        except tomllib.TOMLDecodeError as err:
            raise DistillguardError(f"--config {p} is not valid TOML: {err}") from None
    known = {f.name for f in fields(ServeParams)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DistillguardError(f"--config: unknown setting(s) {', '.join(unknown)}")
    actions = data.pop("actions", {})
    if not isinstance(actions, dict):
        raise DistillguardError("--config: [actions] must be a table")
    action_names = {f.name for f in fields(ActionPolicy)}
    bad = sorted(set(actions) - action_names)
    if bad:
        raise DistillguardError(f"--config: unknown action setting(s) {', '.join(bad)}")
    if "webhook_urls" in data:
        urls = data["webhook_urls"]
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise DistillguardError("--config: webhook_urls must be a list of URLs")
        data["webhook_urls"] = tuple(urls)
    try:
        params = ServeParams(**data, actions=ActionPolicy(**actions))
        params = replace(params, **{k: v for k, v in overrides.items() if v is not None})
    except TypeError as err:
        raise DistillguardError(f"--config: {err}") from None
    if not 0 <= params.increment_nice <= 19:
        raise DistillguardError("increment_nice must be between 0 and 19")
    if params.decode_workers < 0:
        raise DistillguardError("decode_workers must be >= 0")
    for name in ("increment_interval_s", "webhook_backoff_s", "webhook_timeout_s", "increment_timeout_s"):
        if float(getattr(params, name)) <= 0:
            raise DistillguardError(f"{name} must be > 0")
    return params
