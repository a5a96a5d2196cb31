"""Enriched events at rest: hashed event batches in Parquet plus one small table per text field.

Why: holding every enriched event in one Arrow table made memory grow with the input
(10M events: 5.9 GB peak). :class:`~._stream.StreamEnricher` instead writes each hashed
batch to Parquet and keeps only the distinct texts; what ``enrich`` adds per event
(template columns, tags, ``capability``) is a function of the event's two text hashes plus
``tool_count`` / ``has_image``, so it is a join of the batches with the per-text tables.
:meth:`SpilledEvents.create_view` states that join as a DuckDB view, which the scan reads
straight into its event table: no whole-input table ever exists in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from distillguard import _duck
from distillguard.enrich.tags import CAPABILITY_PRIORITY, TagRule

#: Column added to every spilled batch: the event's position in the stream, so the events
#: come back in input order after DuckDB's joins.
ROW_COLUMN = "_dg_row"
#: Tag columns that are also true on request metadata (as in ``enrich``): tag -> SQL over the event.
_METADATA_TAGS: dict[str, tuple[str, str]] = {
    "tag_tool_use": ("tool_count", "coalesce(CAST(e.tool_count AS BIGINT), 0) > 0"),
    "tag_vision": ("has_image", "coalesce(CAST(e.has_image AS BOOLEAN), false)"),
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class TagSpec:
    """The per-event columns ``enrich`` adds, as SQL over the per-text tables."""

    template: tuple[str, ...]  #: template column names (prompt side)
    rules: tuple[tuple[str, str, tuple[str, ...]], ...]  #: (name, capability, text fields) per rule

    @staticmethod
    def of(rules: Sequence[TagRule], template: tuple[str, ...]) -> TagSpec:
        return TagSpec(template, tuple((r.name, r.capability, tuple(r.fields)) for r in rules))

    @staticmethod
    def hit_column(text_field: str, rule: str) -> str:
        """Column of a per-text table: does ``rule`` fire on this text of ``text_field``."""
        return f"_{'p' if text_field == 'prompt' else 's'}_{rule}"

    @property
    def added(self) -> tuple[str, ...]:
        return (*self.template, *(name for name, _, _ in self.rules), "capability")

    def tag_sql(self, name: str, fields: tuple[str, ...], columns: set[str]) -> str:
        """A tag: its rule fired on the prompt or the system prompt (or the metadata says so)."""
        terms = [f"coalesce({a}.{_q(self.hit_column(f, name))}, false)" for f, a in _SIDES if f in fields]
        need, expr = _METADATA_TAGS.get(name, ("", ""))
        if need and need in columns:
            terms.append(expr)
        return " OR ".join(terms) if terms else "false"

    def capability_sql(self) -> str:
        """Highest-priority capability whose tags fired, ``chat`` if none; null with no text and no tag."""
        tags = [_q(name) for name, _, _ in self.rules]
        known = " OR ".join(["prompt_hash IS NOT NULL", "system_hash IS NOT NULL", *tags])
        whens = []
        for cap in CAPABILITY_PRIORITY[:-1]:
            fired = [_q(name) for name, c, _ in self.rules if c == cap]
            if fired:
                whens.append(f"WHEN {' OR '.join(fired)} THEN '{cap}'")
        return f"CASE WHEN NOT ({known}) THEN NULL {' '.join(whens)} ELSE 'chat' END"


_SIDES = (("prompt", "p"), ("system_prompt", "s"))


@dataclass
class SpilledEvents:
    """Enriched events on disk: Parquet batches (hashes, no text) and the per-text tables.

    ``prompt_text`` holds ``prompt_hash``, the template columns and a hit column per tag rule;
    ``system_text`` holds ``system_hash`` and its hit columns. The files live until
    :meth:`remove` (or until this object is collected, when they sit in a private directory).
    """

    files: list[Path]
    schema: pa.Schema | None  #: the spilled batches' (unified) schema, ROW_COLUMN included
    prompt_text: pa.Table
    system_text: pa.Table
    spec: TagSpec
    rows: int
    time_range: tuple[dt.datetime, dt.datetime] | None  #: min/max ``timestamp``, if any
    _owner: Any = None  #: the TemporaryDirectory holding ``files``

    def _base_columns(self) -> list[str]:
        assert self.schema is not None
        added = set(self.spec.added)
        return [c for c in self.schema.names if c != ROW_COLUMN and c not in added]

    def view_sql(self, name: str) -> str:
        """SELECT of the enriched events (input columns, then enrich's, then ROW_COLUMN)."""
        if not self.files or self.schema is None:
            raise ValueError("no spilled events")
        files = ", ".join("'" + str(f).replace("'", "''") + "'" for f in self.files)
        columns = set(self.schema.names)
        items = [f"e.{_q(c)}" for c in self._base_columns()]
        items += [f"p.{_q(c)}" for c in self.spec.template]
        items += [f"{self.spec.tag_sql(n, f, columns)} AS {_q(n)}" for n, _, f in self.spec.rules]
        inner = (
            f"SELECT {', '.join(items)}, e.{ROW_COLUMN} "
            f"FROM read_parquet([{files}], union_by_name = true) e "
            f"LEFT JOIN {name}__ptext p ON e.prompt_hash = p.prompt_hash "
            f"LEFT JOIN {name}__stext s ON e.system_hash = s.system_hash"
        )
        cap = self.spec.capability_sql()
        return f"SELECT * EXCLUDE ({ROW_COLUMN}), {cap} AS capability, {ROW_COLUMN} FROM ({inner})"

    def create_view(self, con: Any, name: str) -> None:
        """Register the per-text tables and create the temporary view ``name`` of the enriched events."""
        con.register(f"{name}__ptext", self.prompt_text)
        con.register(f"{name}__stext", self.system_text)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {self.view_sql(name)}")

    def drop_view(self, con: Any, name: str) -> None:
        """Undo :meth:`create_view` (the connection lets go of the per-text tables)."""
        con.execute(f"DROP VIEW IF EXISTS {name}")
        con.unregister(f"{name}__ptext")
        con.unregister(f"{name}__stext")

    def output_schema(self) -> pa.Schema:
        """The Arrow schema :func:`enrich` would give these events (without ROW_COLUMN)."""
        assert self.schema is not None
        fields = [self.schema.field(c) for c in self._base_columns()]
        fields += [self.prompt_text.schema.field(c) for c in self.spec.template]
        fields += [pa.field(n, pa.bool_()) for n, _, _ in self.spec.rules]
        fields.append(pa.field("capability", pa.string()))
        return pa.schema(fields, self.schema.metadata)

    def to_table(self) -> pa.Table:
        """All enriched events as one Arrow table in input order (tests, small inputs: not the scan)."""
        if not self.files:
            return pa.table({})
        con = _duck.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            self.create_view(con, "_dg_enriched")
            table = con.sql(f"SELECT * EXCLUDE ({ROW_COLUMN}) FROM _dg_enriched ORDER BY {ROW_COLUMN}")
            return table.to_arrow_table().cast(self.output_schema())
        finally:
            con.close()

    def dataset(self) -> Any:
        """The spilled batches as a pyarrow Dataset (input columns and hashes; no enrich columns)."""
        import pyarrow.dataset as ds

        return ds.dataset([str(f) for f in self.files], format="parquet", schema=self.schema)

    def remove(self) -> None:
        """Delete the spilled batches (idempotent)."""
        if self._owner is not None:
            self._owner.cleanup()
            self._owner = None
        self.files = []
