"""Prompt tags from rules kept as data (``enrich/rules/*.yaml``), matched vectorized.

Why rules as data: what campaigns ask for (chain-of-thought, reasoning
reconstruction, rubric grading, censorship-safe rewrites, tool use, vision,
forced languages) changes faster than code, and every rule must carry its
description, references, known false positives and its own positive/negative
examples, which the test suite replays (the Elastic detection-rules habit).

A rule file::

    name: tag_cot                   # output column
    capability: reasoning           # what the tag says the caller is harvesting
    description: ...
    references: [...]
    false_positives: [...]
    fields: [prompt, system_prompt] # which texts the patterns look at
    patterns: [RE2 regex, ...]      # case-insensitive, any match tags the row
    examples: {positive: [...], negative: [...]}

Patterns are joined into one RE2 alternation per rule and run with
``pyarrow.compute.match_substring_regex`` over *distinct* texts only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.errors import DistillguardError

#: capability values, highest priority first; ``chat`` when no tag fired.
CAPABILITY_PRIORITY: tuple[str, ...] = (
    "reasoning",
    "coding",
    "tool_use",
    "vision",
    "rewrite",
    "grading",
    "chat",
)
_FIELDS = ("prompt", "system_prompt")
_REQUIRED_KEYS = ("name", "capability", "description", "patterns", "examples", "fields")


@dataclass(frozen=True)
class TagRule:
    """One compiled rule (see module docstring for the file format)."""

    name: str
    capability: str
    description: str
    patterns: tuple[str, ...]
    fields: tuple[str, ...]
    references: tuple[str, ...]
    false_positives: tuple[str, ...]
    positive_examples: tuple[str, ...]
    negative_examples: tuple[str, ...]
    source: str

    @property
    def regex(self) -> str:
        """All patterns as one case-insensitive RE2 alternation."""
        return "(?i)" + "|".join(f"(?:{p})" for p in self.patterns)

    def match(self, texts: pa.Array) -> np.ndarray:
        """Boolean per text (null -> False). Callers dedupe first (see ``tag_prompts``)."""
        if len(texts) == 0:
            return np.zeros(0, dtype=bool)
        hits = pc.match_substring_regex(texts.cast(pa.string()), self.regex)
        return pc.fill_null(hits, False).to_numpy(zero_copy_only=False)


def _rules_dir() -> Path:
    return Path(__file__).resolve().parent / "rules"


def load_rule(path: Path) -> TagRule:
    """Parse and validate one YAML rule; any defect is a one-line DistillguardError."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise DistillguardError(f"{path}: cannot read tag rule ({str(err).splitlines()[0]})") from err
    if not isinstance(doc, dict):
        raise DistillguardError(f"{path}: a tag rule must be a mapping")
    missing = [k for k in _REQUIRED_KEYS if k not in doc]
    if missing:
        raise DistillguardError(f"{path}: tag rule lacks {', '.join(missing)}")
    name = str(doc["name"])
    if not name.startswith("tag_"):
        raise DistillguardError(f"{path}: rule name {name!r} must start with 'tag_'")
    if doc["capability"] not in CAPABILITY_PRIORITY:
        raise DistillguardError(f"{path}: capability {doc['capability']!r} not in {CAPABILITY_PRIORITY}")
    fields = tuple(doc["fields"])
    if not fields or any(f not in _FIELDS for f in fields):
        raise DistillguardError(f"{path}: fields must be a non-empty subset of {_FIELDS}")
    patterns = tuple(str(p) for p in doc["patterns"] or ())
    examples = doc["examples"] or {}
    rule = TagRule(
        name=name,
        capability=str(doc["capability"]),
        description=str(doc["description"]).strip(),
        patterns=patterns,
        fields=fields,
        references=tuple(doc.get("references") or ()),
        false_positives=tuple(doc.get("false_positives") or ()),
        positive_examples=tuple(examples.get("positive") or ()),
        negative_examples=tuple(examples.get("negative") or ()),
        source=str(path),
    )
    if not patterns:
        raise DistillguardError(f"{path}: tag rule has no patterns")
    try:
        pc.match_substring_regex(pa.array([""]), rule.regex)
    except pa.ArrowInvalid as err:
        raise DistillguardError(f"{path}: bad pattern ({err})") from err
    return rule


def load_rules(paths: Sequence[Path] | None = None) -> tuple[TagRule, ...]:
    """The packaged rules (default) or the given YAML files, sorted by name."""
    if paths is None:
        paths = sorted(_rules_dir().glob("*.yaml"))
    rules = tuple(sorted((load_rule(Path(p)) for p in paths), key=lambda r: r.name))
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise DistillguardError(f"duplicate tag rule names: {sorted(n for n in names if names.count(n) > 1)}")
    return rules


_DEFAULT_RULES: tuple[TagRule, ...] | None = None


def default_rules() -> tuple[TagRule, ...]:
    """Packaged rules, loaded once per process."""
    global _DEFAULT_RULES
    if _DEFAULT_RULES is None:
        _DEFAULT_RULES = load_rules()
    return _DEFAULT_RULES


def tag_names(rules: Sequence[TagRule] | None = None) -> tuple[str, ...]:
    return tuple(r.name for r in (rules if rules is not None else default_rules()))


def _column(values: pa.Array | pa.ChunkedArray | list[str | None] | None, n: int) -> pa.Array:
    if values is None:
        return pa.nulls(n, pa.string())
    if isinstance(values, list):
        return pa.array(values, pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.string())


def capability_of(tags: dict[str, np.ndarray], rules: Sequence[TagRule], has_text: np.ndarray) -> pa.Array:
    """Highest-priority capability among the tags that fired; ``chat`` when none
    fired; null when the row has no text and no tag (nothing known)."""
    n = len(has_text)
    by_cap = {cap: np.zeros(n, dtype=bool) for cap in CAPABILITY_PRIORITY}
    for rule in rules:
        if rule.name in tags:
            by_cap[rule.capability] |= tags[rule.name]
    idx = np.full(n, CAPABILITY_PRIORITY.index("chat"), dtype=np.int64)
    for pos in range(len(CAPABILITY_PRIORITY) - 2, -1, -1):
        idx = np.where(by_cap[CAPABILITY_PRIORITY[pos]], pos, idx)
    any_tag = np.zeros(n, dtype=bool)
    for mask in tags.values():
        any_tag |= mask
    known = has_text | any_tag
    caps = pa.array(CAPABILITY_PRIORITY, pa.string()).take(pa.array(idx))
    return pc.if_else(pa.array(known), caps, pa.scalar(None, pa.string()))


def field_hits(unique_texts: pa.Array, field: str, rules: Sequence[TagRule]) -> dict[str, np.ndarray]:
    """Rule name -> hits over already-deduplicated texts of one field."""
    return {rule.name: rule.match(unique_texts) for rule in rules if field in rule.fields}


def broadcast_hits(tags: dict[str, np.ndarray], hits: dict[str, np.ndarray], indices: pa.Array) -> None:
    """OR per-distinct-text ``hits`` into per-row ``tags`` through dictionary ``indices``."""
    idx = pc.fill_null(indices, -1).to_numpy()
    present = idx >= 0
    for name, mask in hits.items():
        tags[name][present] |= mask[idx[present]]


def tag_prompts(
    prompts: pa.Array | pa.ChunkedArray | list[str | None],
    system_prompts: pa.Array | pa.ChunkedArray | list[str | None] | None = None,
    *,
    rules: Sequence[TagRule] | None = None,
) -> pa.Table:
    """One boolean column per rule (null text -> False) plus ``capability``."""
    rules = default_rules() if rules is None else tuple(rules)
    prompt = _column(prompts, 0)
    system = _column(system_prompts, len(prompt))
    if len(system) != len(prompt):
        raise DistillguardError(
            f"prompts ({len(prompt)}) and system_prompts ({len(system)}) differ in length"
        )
    tags = {rule.name: np.zeros(len(prompt), dtype=bool) for rule in rules}
    for field, values in (("prompt", prompt), ("system_prompt", system)):
        if values.null_count == len(values):
            continue
        # Every rule runs once per distinct text, then is broadcast back.
        encoded = pc.dictionary_encode(values)
        broadcast_hits(tags, field_hits(encoded.dictionary, field, rules), encoded.indices)
    has_text = (prompt.is_valid().to_numpy(zero_copy_only=False)) | (
        system.is_valid().to_numpy(zero_copy_only=False)
    )
    cols = {name: pa.array(mask, pa.bool_()) for name, mask in tags.items()}
    cols["capability"] = capability_of(tags, rules, has_text)
    return pa.table(cols)
