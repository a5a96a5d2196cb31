"""Hand-made enriched events for the detection tests: small worlds with known answers.

(Imported by tests/detect/conftest.py and the test modules; not a test itself.)

Each persona is a few lines of numpy so a test can say exactly which behaviour it adds.
Events carry the enrich columns directly (ip_kind, template_family, tag_cot...), so the
detectors are tested without depending on the enrich stage's heuristics.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
DAY = 86400.0


@dataclass
class World:
    """Accumulates persona traffic; ``table()`` gives events, ``labels`` the truth."""

    seed: int = 0
    span_s: float = 3 * DAY
    rows: dict[str, list[Any]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self._n = 0

    def accounts(self, prefix: str) -> set[str]:
        """The accounts a builder added under ``prefix`` (builders name accounts prefix + index)."""
        return {a for a in self.labels if a.startswith(prefix)}

    def _add(self, account: str, times: np.ndarray, persona: str, **cols: Any) -> None:
        n = len(times)
        self.labels[account] = persona
        base = {
            "event_id": [f"e{self._n + i}" for i in range(n)],
            "timestamp": [T0 + dt.timedelta(seconds=float(t)) for t in times],
            "account_id": [account] * n,
        }
        self._n += n
        defaults = {
            "model": "m-large",
            "input_tokens": self.rng.integers(50, 800, n),
            "output_tokens": self.rng.integers(50, 800, n),
            "reasoning_output_tokens": np.zeros(n, dtype=np.int64),
            "client_ip": f"10.{hash(account) % 250}.1.1",
            "ip_kind": "residential",
            "ip_country": "US",
            "asn": 7922,
            "ip_prefix24": None,
            "user_agent": "Mozilla/5.0",
            "tls_fingerprint": "t13d_browser",
            "payment_fingerprint": f"pay-{account}",
            "account_created_at": T0 - dt.timedelta(days=float(self.rng.uniform(1, 400))),
            "account_tier": "paid",
            "account_country": "US",
            "template_family": None,
            "tag_cot": False,
            "prompt": None,
            "capability": "chat",
            "tool_count": 0,
        }
        defaults.update(cols)
        for k, v in {**base, **defaults}.items():
            vals = list(v) if isinstance(v, list | np.ndarray) else [v] * n
            if k == "ip_prefix24":
                ips = defaults["client_ip"]
                ips = list(ips) if isinstance(ips, list | np.ndarray) else [ips] * n
                vals = [ip.rsplit(".", 1)[0] + ".0/24" for ip in ips]
            self.rows.setdefault(k, []).extend(vals)

    # -- timing helpers -------------------------------------------------------------------
    def human_times(self, n: int, sessions: int | None = None) -> np.ndarray:
        """Bursty human sessions: a few sessions, think time of tens of seconds to minutes."""
        sessions = sessions or max(1, n // 8)
        starts = self.rng.uniform(0, self.span_s - 7200, sessions)
        which = self.rng.integers(0, sessions, n)
        gaps = self.rng.lognormal(mean=3.5, sigma=1.2, size=n)
        out = np.empty(n)
        for s in range(sessions):
            idx = np.flatnonzero(which == s)
            out[idx] = starts[s] + np.cumsum(gaps[idx])
        return np.sort(out)

    def regular_times(self, n: int, period: float, jitter: float = 0.05, start: float = 0.0) -> np.ndarray:
        return start + np.cumsum(period * (1 + self.rng.uniform(-jitter, jitter, n)))

    # -- personas -------------------------------------------------------------------------
    def hobbyists(self, k: int) -> None:
        for i in range(k):
            n = int(self.rng.integers(5, 80))
            fams = self.rng.integers(10_000, 10_000_000, n)
            self._add(
                f"hob{i:03d}",
                self.human_times(n),
                "benign_hobbyist",
                template_family=fams,
                prompt=[f"hob{i} q{j}" for j in range(n)],
                tag_cot=self.rng.random(n) < 0.05,
            )

    def enterprise(self, k: int, n: int = 3000) -> None:
        for i in range(k):
            self._add(
                f"ent{i}",
                self.regular_times(n, 60.0, 0.3),
                "benign_enterprise_batch",
                client_ip=f"34.1.{i}.{i + 1}",
                ip_kind="hosting",
                account_tier="enterprise",
                template_family=900 + i,
                prompt=[f"ent{i} doc {j}" for j in range(n)],
                tls_fingerprint="t13d_python",
            )

    def university(self, k: int, n: int = 15) -> None:
        start = self.rng.uniform(DAY, 2 * DAY)
        for i in range(k):
            times = start + np.sort(self.rng.uniform(0, 3600, n))
            self._add(
                f"edu{i:03d}",
                times,
                "benign_university",
                client_ip="128.32.5.9",
                ip_kind="residential",
                account_tier="edu",
                template_family=777,
                prompt=[f"assignment q{j % 5}" for j in range(n)],
                tag_cot=self.rng.random(n) < 0.6,
                payment_fingerprint=f"pay-edu{i}",
                account_created_at=T0 + dt.timedelta(seconds=start - 600 + i),
            )

    def eval_harness(self, k: int, n: int = 400) -> None:
        for i in range(k):
            self._add(
                f"evl{i}",
                self.regular_times(n, 20.0, 0.5, start=i * 3600.0),
                "benign_eval_harness",
                template_family=555,
                tag_cot=True,
                prompt=[f"gsm8k {j}" for j in range(n)],
                ip_kind="hosting",
                client_ip=f"35.2.{i}.1",
                tls_fingerprint="t13d_python",
            )

    def team_card(self, k: int) -> None:
        for i in range(k):
            n = int(self.rng.integers(20, 120))
            self._add(
                f"team{i}",
                self.human_times(n),
                "benign_team_card",
                payment_fingerprint="pay-team",
                template_family=self.rng.integers(10_000, 10_000_000, n),
                prompt=[f"team{i} q{j}" for j in range(n)],
            )

    def relay_users(self, k: int) -> None:
        for i in range(k):
            n = int(self.rng.integers(30, 100))
            ips = [f"172.225.{self.rng.integers(0, 255)}.{self.rng.integers(1, 255)}" for _ in range(n)]
            self._add(
                f"icl{i:02d}",
                self.human_times(n),
                "benign_private_relay",
                client_ip=ips,
                ip_kind="relay",
                asn=self.rng.integers(1, 30, n),
                template_family=self.rng.integers(10_000, 10_000_000, n),
                prompt=[f"icl{i} q{j}" for j in range(n)],
            )

    def sync_harvest(self, k: int, n: int = 300, campaign: str = "sync") -> None:
        period = 120.0
        for i in range(k):
            self._add(
                f"{campaign}{i:02d}",
                self.regular_times(n, period, 0.1, start=i * period / k),
                "attack_sync_harvest",
                payment_fingerprint=f"pay-{campaign}",
                ip_kind="hosting",
                client_ip=f"45.9.{i % 4}.7",
                template_family=4242,
                tag_cot=True,
                prompt=[f"{campaign}{i} task {j}" for j in range(n)],
                tls_fingerprint="t13d_go",
                output_tokens=self.rng.integers(1500, 4000, n),
                reasoning_output_tokens=self.rng.integers(1000, 3000, n),
            )

    def low_and_slow(self, k: int, n: int = 40) -> None:
        for i in range(k):
            self._add(
                f"lns{i:03d}",
                self.human_times(n, sessions=6),
                "attack_low_and_slow",
                template_family=31337,
                tag_cot=True,
                prompt=[f"lns{i} problem {j}" for j in range(n)],
                client_ip=f"73.{i}.{i}.9",
                asn=1000 + i,
            )

    def table(self) -> pa.Table:
        from distillguard.schema import TIMESTAMP

        t = pa.table(self.rows)
        t = t.set_column(t.schema.get_field_index("timestamp"), "timestamp", t["timestamp"].cast(TIMESTAMP))
        idx = t.schema.get_field_index("account_created_at")
        return t.set_column(idx, "account_created_at", t["account_created_at"].cast(TIMESTAMP))


def standard_world(seed: int = 0) -> World:
    """Every hard negative next to two attack fleets (the shared detection scenario)."""
    w = World(seed=seed)
    w.hobbyists(120)
    w.enterprise(2)
    w.university(25)
    w.eval_harness(3)
    w.team_card(5)
    w.relay_users(10)
    w.sync_harvest(20)
    w.low_and_slow(30)
    return w


def day_times(w: World, n: int, utc_offset_h: float, start_h: float = 9, end_h: float = 18) -> np.ndarray:
    """Human sessions in local hours ``start_h``-``end_h`` of a timezone, over the world's span."""
    days = w.rng.integers(0, int(w.span_s // DAY), n)
    local = w.rng.uniform(start_h, end_h, n)
    return np.sort(days * DAY + ((local - utc_offset_h) % 24) * 3600 + w.rng.uniform(0, 60, n))


def offshore_lowslow_fleet(w: World, k: int) -> None:
    """A fleet in UTC+8 office hours claiming US/GB billing, mostly on the older model."""
    for i in range(k):
        n = int(w.rng.integers(25, 40))
        w._add(
            f"lsf{i:03d}",
            day_times(w, n, 8),
            "attack_lowslow",
            account_country=("US", "GB")[i % 2],
            model=np.where(w.rng.random(n) < 0.7, "m-old", "m-large"),
            template_family=w.rng.integers(10_000, 10_000_000, n),
            prompt=[f"lsf{i} q{j}" for j in range(n)],
            client_ip=f"73.{i}.{i}.9",
        )


def detection_context(table: pa.Table, has_prompts: bool = True) -> Any:
    """A DetectionContext over ``table`` in a fresh DuckDB connection."""
    from distillguard.detectors import DetectionContext
    from distillguard.features import FeatureParams, build_timeline, register_events
    from distillguard.scan import connect

    con = connect()
    register_events(con, table, "ev")
    return DetectionContext.at(build_timeline(con, "ev", [], FeatureParams()), has_prompts=has_prompts)


def fired(signals: pa.Table, signal: str) -> set[str]:
    """Accounts on which ``signal`` fired."""
    return {
        a
        for a, s in zip(signals["account_id"].to_pylist(), signals["signal"].to_pylist(), strict=True)
        if s == signal
    }


#: Columns the enrich stage adds (dropped when a world is written as raw logs).
ENRICHED = ("ip_kind", "asn", "ip_prefix24", "ip_country", "template_family", "tag_cot", "capability")


def write_event_dir(world: World, root: Any) -> Any:
    """The world as an event directory (raw columns only: enrich recomputes the rest)."""
    import pyarrow.parquet as pq

    t = world.table()
    d = root / "events" / "day=2026-03-02"
    d.mkdir(parents=True)
    pq.write_table(t.select([c for c in t.column_names if c not in ENRICHED]), d / "part-0.parquet")
    return root
