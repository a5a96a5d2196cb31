"""The small contract every detector honours (River/sklearn habit: one base, one test suite).

A detector reads per-account features (and, for cross-account evidence, the event view in
the shared DuckDB connection) and emits named signals in ``SIGNALS_SCHEMA``. Scoring is kept
apart from the decision: a detector says how strongly each signal fired and against which
named threshold; ``scoring`` decides verdicts.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from distillguard.schema import SIGNALS_SCHEMA

#: The families scoring knows about; ``intel`` comes from the share stage.
FAMILIES: tuple[str, ...] = ("traffic", "extraction", "automation", "coordination", "intel")


def documented(params: Any, prefix: str = "") -> dict[str, dict[str, Any]]:
    """``{name: {value, doc}}`` of a parameter dataclass (every threshold is reported)."""
    out = {}
    for f in fields(params):
        out[f"{prefix}{f.name}"] = {"value": getattr(params, f.name), "doc": f.metadata.get("doc", "")}
    return out


@contextmanager
def timed(ctx: Any, name: str) -> Iterator[None]:
    """Add the seconds of the ``with`` body to ``ctx.shared["_timings"][name]`` (summed over
    checkpoints): ``scan_meta.json``'s ``detect_timings_s`` says where detection spends."""
    started = time.perf_counter()
    try:
        yield
    finally:
        spent = ctx.shared.setdefault("_timings", {})
        spent[name] = spent.get(name, 0.0) + time.perf_counter() - started


def param(default: Any, doc: str) -> Any:
    """A dataclass field that carries its own documentation (shown in scan_meta and reports)."""
    return field(default=default, metadata={"doc": doc})


@dataclass
class DetectionContext:
    """What detectors see: features per account, the event view, and input facts."""

    con: Any  #: DuckDB connection holding the normalized event table
    src: str  #: name of the event table
    features: pa.Table  #: one row per account seen before checkpoint ``k``, sorted by id
    has_prompts: bool  #: prompt text was present (template/tag features are meaningful)
    cache: dict[str, Any] = field(default_factory=dict)  #: shared intermediate results
    timeline: Any = None  #: the :class:`~distillguard.features.Timeline` (partials per interval)
    k: int | None = None  #: checkpoint index (``None`` or ``timeline.final`` = whole input)

    def __post_init__(self) -> None:
        self._cols: dict[str, np.ndarray] = {}
        if self.k is None and self.timeline is not None:
            self.k = self.timeline.final

    @classmethod
    def at(cls, timeline: Any, k: int | None = None, *, has_prompts: bool) -> DetectionContext:
        """The context of checkpoint ``k`` of ``timeline`` (default: the whole input)."""
        k = timeline.final if k is None else k
        return cls(timeline.con, timeline.src, timeline.at(k), has_prompts, timeline=timeline, k=k)

    @property
    def shared(self) -> dict[str, Any]:
        """Cache that outlives one checkpoint (partial tables built once per timeline)."""
        return self.timeline.cache if self.timeline is not None else self.cache

    def positions(self, aids: Any) -> np.ndarray:
        """Row positions in ``features`` of integer account ids ``aids`` (all must be present)."""
        key = self.col("aid")
        return np.searchsorted(key, np.asarray(aids, dtype=np.float64)).astype(np.int64)

    def aligned(self, table: pa.Table, column: str, fill: float = 0.0) -> np.ndarray:
        """A per-account column of ``table`` (keyed by ``aid``) aligned to ``features`` rows."""
        out = np.full(self.features.num_rows, fill, dtype=np.float64)
        if table.num_rows:
            vals = table[column].cast(pa.float64()).fill_null(fill).to_numpy(zero_copy_only=False)
            out[self.positions(table["aid"].to_numpy(zero_copy_only=False))] = vals
        return out

    @property
    def accounts(self) -> np.ndarray:
        return self.col("account_id")

    def micros(self, name: str) -> np.ndarray:
        """A timestamp feature as epoch microseconds (float; NaN where unknown)."""
        arr = self.features.column(name).cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)

    def col(self, name: str, fill: float = np.nan) -> np.ndarray:
        """A feature column as numpy (numeric nulls -> ``fill``; strings stay objects)."""
        key = f"{name}|{fill}"
        if key not in self._cols:
            arr = self.features.column(name)
            typ = arr.type
            if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
                vals = arr.cast(pa.float64()).fill_null(fill).to_numpy(zero_copy_only=False)
            elif pa.types.is_timestamp(typ):
                vals = arr.cast(pa.int64()).to_numpy(zero_copy_only=False)
            else:
                vals = np.asarray(arr.to_pylist(), dtype=object)
            self._cols[key] = vals
        return self._cols[key]


def ramp(value: np.ndarray, threshold: float | np.ndarray, full: float | np.ndarray) -> np.ndarray:
    """Strength of a fired signal: 0.5 at ``threshold``, rising linearly to 1 at ``full``.

    Below the threshold the strength is 0 (not fired). Fired signals start at 0.5 so that a
    bare crossing is "possible" and only a clear excess is "certain".
    """
    value = np.asarray(value, dtype=np.float64)
    span = np.maximum(np.asarray(full, dtype=np.float64) - threshold, 1e-12)
    s = 0.5 + 0.5 * np.clip((value - threshold) / span, 0.0, 1.0)
    return np.where(np.nan_to_num(value, nan=-np.inf) >= threshold, s, 0.0)


def signal_rows(
    accounts: np.ndarray,
    family: str,
    signal: str,
    strength: np.ndarray,
    value: np.ndarray,
    threshold: float | np.ndarray,
    evidence: str | tuple[str, list[np.ndarray]],
) -> pa.Table:
    """SIGNALS_SCHEMA rows for the accounts where ``strength > 0`` (vectorized).

    ``evidence`` is a fixed string or ``(format, [arrays])``: the format is filled only for
    the accounts that fired, so building evidence costs nothing for the quiet majority.
    """
    strength = np.nan_to_num(np.asarray(strength, dtype=np.float64), nan=0.0)
    mask = strength > 0
    n = int(mask.sum())
    thr = np.broadcast_to(np.asarray(threshold, dtype=np.float64), strength.shape)[mask]
    val = np.asarray(value, dtype=np.float64)[mask]
    if isinstance(evidence, str):
        ev = [evidence] * n
    else:
        fmt, arrays = evidence
        cols = [np.asarray(a)[mask].tolist() for a in arrays]
        ev = [fmt.format(*vals) for vals in zip(*cols, strict=True)] if cols else [fmt] * n
    return pa.table(
        {
            "account_id": pa.array(np.asarray(accounts, dtype=object)[mask].tolist(), pa.string()),
            "family": pa.array([family] * n, pa.string()),
            "signal": pa.array([signal] * n, pa.string()),
            "strength": pa.array(np.clip(strength[mask], 0.0, 1.0), pa.float64()),
            "value": pa.array(val, pa.float64()),
            "threshold": pa.array(thr, pa.float64()),
            "evidence": pa.array(ev, pa.string()),
        },
        schema=SIGNALS_SCHEMA,
    )


def concat_signals(tables: list[pa.Table]) -> pa.Table:
    """Concatenate signal tables in a stable order (account, family, signal)."""
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return SIGNALS_SCHEMA.empty_table()
    out = pa.concat_tables(tables)
    return out.sort_by([("account_id", "ascending"), ("family", "ascending"), ("signal", "ascending")])


class Detector(ABC):
    """One family of evidence. Subclasses set ``family``, ``signals`` and ``Params``."""

    family: ClassVar[str]
    #: every signal name this detector may emit (contract-tested)
    signals: ClassVar[tuple[str, ...]]
    #: needs prompt text (template/tag columns); skipped signals otherwise
    needs_prompts: ClassVar[bool] = False

    @dataclass(frozen=True)
    class Params:
        """Named, documented thresholds (subclasses replace this)."""

    def __init__(self, params: Any = None) -> None:
        self.params = params if params is not None else self.Params()

    def thresholds(self) -> dict[str, dict[str, Any]]:
        """This detector's thresholds as ``{family.name: {value, doc}}``."""
        return documented(self.params, prefix=f"{self.family}.")

    def detect(self, ctx: DetectionContext) -> pa.Table:
        """Signals for the accounts in ``ctx`` (empty input -> empty table)."""
        if ctx.features.num_rows == 0:
            return SIGNALS_SCHEMA.empty_table()
        out = concat_signals(self._detect(ctx))
        return out

    @abstractmethod
    def _detect(self, ctx: DetectionContext) -> list[pa.Table]:
        """Return one signal table per signal kind (use :func:`signal_rows`)."""

    def params_dict(self) -> dict[str, Any]:
        return asdict(self.params)
