"""Scenario files: YAML describing the world and how many accounts/events each persona gets.

A scenario is data so that new ones need no code. Packaged scenarios live in
``simulate/scenarios/*.yaml``; ``--scenario`` also accepts a path to any YAML file of
the same shape (see ``tiny.yaml`` for the annotated format).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError

SCENARIO_DIR = Path(__file__).with_name("scenarios")


@dataclass(frozen=True)
class PersonaEntry:
    """One population in a scenario: which persona, how big, and any overrides."""

    key: str  # entry name (unique in the file)
    persona: str  # persona type (labels use this name)
    accounts: int
    events: int
    campaign: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # Profile overrides
    options: dict[str, Any] = field(default_factory=dict)  # persona-class options


@dataclass(frozen=True)
class ModelEntry:
    name: str
    role: str
    release_day: float
    reasoning: bool = False
    new: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    start: datetime
    days: int
    models: tuple[ModelEntry, ...]
    personas: tuple[PersonaEntry, ...]
    chunk_events: int = 250_000  # events generated per chunk: bounds memory
    source: str = ""

    @property
    def total_events(self) -> int:
        return sum(p.events for p in self.personas)


def available() -> list[str]:
    """Names of the packaged scenarios."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def load_scenario(spec: str | Path) -> Scenario:
    """A packaged scenario by name, or a YAML file by path."""
    path = Path(spec)
    if not path.suffix and not path.exists():
        path = SCENARIO_DIR / f"{spec}.yaml"
        if not path.is_file():
            raise DistillguardError(f"unknown scenario {spec!r}; packaged: {', '.join(available())}")
    if not path.is_file():
        raise DistillguardError(f"scenario file not found: {spec}")
    import yaml

    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise DistillguardError(f"cannot parse scenario {path}: {str(err).splitlines()[0]}") from None
    return parse_scenario(raw, str(path))


def parse_scenario(raw: object, source: str = "<dict>") -> Scenario:
    """Validate a decoded scenario mapping; every mistake is a one-line user error."""
    if not isinstance(raw, dict):
        raise DistillguardError(f"scenario {source}: expected a mapping at top level")
    try:
        start = raw.get("start", "2026-03-02T00:00:00Z")
        start_dt = (
            start
            if isinstance(start, datetime)
            else datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        )
        if start_dt.tzinfo is None:
            start_dt = start_dt.replace(tzinfo=UTC)
        models = tuple(ModelEntry(**m) for m in raw["models"])
        personas = []
        for key, entry in raw["personas"].items():
            entry = dict(entry or {})
            personas.append(
                PersonaEntry(
                    key=str(key),
                    persona=str(entry.pop("persona", key)),
                    accounts=int(entry.pop("accounts")),
                    events=int(entry.pop("events")),
                    campaign=entry.pop("campaign", None),
                    params=dict(entry.pop("params", {}) or {}),
                    options=dict(entry.pop("options", {}) or {}),
                )
            )
            if entry:
                raise DistillguardError(f"scenario {source}: persona {key}: unknown keys {sorted(entry)}")
        sc = Scenario(
            name=str(raw.get("name", Path(source).stem)),
            description=str(raw.get("description", "")),
            start=start_dt.astimezone(UTC),
            days=int(raw["days"]),
            models=models,
            personas=tuple(personas),
            chunk_events=int(raw.get("chunk_events", 250_000)),
            source=source,
        )
    except DistillguardError:
        raise
    except (KeyError, TypeError, ValueError) as err:
        raise DistillguardError(f"scenario {source}: invalid or missing field: {err}") from None
    _check(sc)
    return sc


def _check(sc: Scenario) -> None:
    from distillguard.simulate._registry import known_personas

    known = known_personas()
    if not 1 <= sc.days <= 366:
        raise DistillguardError(f"scenario {sc.source}: days must be in 1..366, got {sc.days}")
    roles = {m.role for m in sc.models}
    for needed in ("flagship",):
        if needed not in roles:
            raise DistillguardError(f"scenario {sc.source}: needs a model with role {needed!r}")
    if sum(m.new for m in sc.models) > 1:
        raise DistillguardError(f"scenario {sc.source}: at most one model may be marked new")
    for p in sc.personas:
        if p.persona not in known:
            raise DistillguardError(
                f"scenario {sc.source}: unknown persona {p.persona!r}; known: {', '.join(known)}"
            )
        if p.accounts < 1 or p.events < p.accounts:
            raise DistillguardError(
                f"scenario {sc.source}: {p.key}: need accounts >= 1 and events >= accounts"
            )
    if len(sc.personas) > 255:
        raise DistillguardError(f"scenario {sc.source}: at most 255 persona entries")
