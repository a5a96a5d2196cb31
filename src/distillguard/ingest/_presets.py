"""Presets for sources we know: OTel GenAI spans and LiteLLM proxy spend logs.

A preset is a base :class:`Mapping` plus a *derive* step that adds computed source
columns (``derived.*``) the mapping then points at; a user's mapping file layers
over the preset (``preset: litellm`` + ``columns: {account_id: user}``), so every
choice below can be changed without code.

OTel choices: ``account_id`` is ``user.id`` (the GenAI conventions have no billing
account; ``user.id`` is what instrumented gateways set for the caller). Map another
attribute (``resource.tenant.id``...) with a mapping file when your spans differ.
``event_id`` is ``gen_ai.response.id``, else the span id. ``status`` is ``error`` when
the span status is ERROR or ``error.type`` is set, else ``ok``.

LiteLLM choices: ``account_id`` is ``organization_id``, else ``team_id``, else
``key:`` + the hashed API key (``account_from`` picks one source instead). LiteLLM
stores ``api_key`` already hashed (SHA-256 hex); anything else (a raw ``sk-...``
key) is SHA-256 hashed here, so raw keys never reach the event log, and the raw
``api_key`` column is dropped. ``user`` (the customer's end user) -> ``end_user_id``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard import _duck
from distillguard.errors import DistillguardError
from distillguard.ingest._convert import as_plain, to_int64, to_string, to_timestamp
from distillguard.ingest._mapping import Mapping
from distillguard.ingest._messages import extract_prompts

Derive = Callable[[pa.Table, Mapping], pa.Table]

OTEL_MAPPING = Mapping(
    columns={
        "event_id": ("gen_ai.response.id", "otel.span_id"),
        "timestamp": ("otel.start_time_unix_nano",),
        "account_id": ("user.id", "resource.user.id"),
        "model": ("gen_ai.request.model", "gen_ai.response.model"),
        "input_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
        "output_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
        "reasoning_output_tokens": ("gen_ai.usage.reasoning.output_tokens",),
        "client_ip": ("client.address",),
        "user_agent": ("user_agent.original",),
        "conversation_id": ("gen_ai.conversation.id",),
        "temperature": ("gen_ai.request.temperature",),
        "prompt": ("derived.prompt",),
        "system_prompt": ("derived.system_prompt",),
        "status": ("derived.status",),
        "duration_ms": ("derived.duration_ms",),
        # extras worth keeping for analysts
        "trace_id": ("otel.trace_id",),
        "span_id": ("otel.span_id",),
        "span_name": ("otel.span_name",),
        "service_name": ("resource.service.name",),
        "gen_ai_operation": ("gen_ai.operation.name",),
        "gen_ai_provider": ("gen_ai.provider.name", "gen_ai.system"),
        "gen_ai_response_model": ("gen_ai.response.model",),
        "finish_reasons": ("gen_ai.response.finish_reasons",),
    },
    timestamp_unit="ns",
    keep_unmapped=False,
    preset="otel",
)

LITELLM_MAPPING = Mapping(
    columns={
        "event_id": ("request_id",),
        "timestamp": ("startTime",),
        "account_id": ("derived.account_id",),
        "api_key_id": ("derived.api_key_id",),
        "end_user_id": ("user", "end_user"),
        "model": ("model", "model_group"),
        "input_tokens": ("prompt_tokens",),
        "output_tokens": ("completion_tokens",),
        "client_ip": ("requester_ip_address",),
        "prompt": ("derived.prompt",),
        "system_prompt": ("derived.system_prompt",),
        "status": ("derived.status",),
        "duration_ms": ("derived.duration_ms",),
        "conversation_id": ("session_id",),
    },
    keep_unmapped=True,
    drop=("messages", "response", "proxy_server_request", "api_key", "startTime", "endTime"),
    preset="litellm",
)


def _col(table: pa.Table, name: str) -> pa.Array | None:
    return as_plain(table.column(name)) if name in table.column_names else None


def _duration_ms(start: pa.Array, end: pa.Array) -> pa.Array:
    micros = pc.subtract(pc.cast(end, pa.int64()), pc.cast(start, pa.int64()))
    return pc.divide(micros, 1000)


def _add(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    if name in table.column_names:
        table = table.drop([name])
    return table.append_column(name, values)


def _add_prompts(table: pa.Table, messages: pa.Array | None) -> pa.Table:
    if messages is None:
        return table
    prompt, system = extract_prompts(to_string(messages)[0])
    return _add(_add(table, "derived.prompt", prompt), "derived.system_prompt", system)


def derive_otel(table: pa.Table, mapping: Mapping) -> pa.Table:
    """Computed columns for GenAI spans: status, duration, prompt/system prompt."""
    n = table.num_rows
    code = _col(table, "otel.status_code")
    error_type = _col(table, "error.type")
    failed = pa.array(np.zeros(n, dtype=bool))
    if code is not None:
        text = to_string(code)[0]
        failed = pc.fill_null(pc.is_in(text, value_set=pa.array(["2", "STATUS_CODE_ERROR"])), False)
    if error_type is not None:
        failed = pc.or_(failed, pc.is_valid(error_type))
    table = _add(table, "derived.status", pc.if_else(failed, "error", "ok"))
    start, end = _col(table, "otel.start_time_unix_nano"), _col(table, "otel.end_time_unix_nano")
    if start is not None and end is not None:
        s, _ = to_int64(start)
        e, _ = to_int64(end)
        table = _add(table, "derived.duration_ms", pc.divide(pc.subtract(e, s), 1_000_000))
    messages = _col(table, "gen_ai.input.messages")
    table = _add_prompts(table, messages)
    instructions = _col(table, "gen_ai.system_instructions")
    if instructions is not None:
        from_messages = _col(table, "derived.system_prompt")
        system, _ = extract_prompts(
            pc.binary_join_element_wise('[{"role":"system","parts":', to_string(instructions)[0], "}]", "")
        )
        merged = system if from_messages is None else pc.coalesce(system, from_messages)
        table = _add(table, "derived.system_prompt", merged)
    return table


def _sha256_hex(values: pa.Array) -> pa.Array:

    con = _duck.connect()
    try:
        con.register("keys_in", pa.table({"k": values}))
        out = con.sql("SELECT CASE WHEN k IS NULL THEN NULL ELSE sha256(k) END AS h FROM keys_in")
        return out.to_arrow_table().column("h").combine_chunks().cast(pa.string())
    finally:
        con.close()


def derive_litellm(table: pa.Table, mapping: Mapping) -> pa.Table:
    """Computed columns for LiteLLM spend logs: account, hashed key, status, prompts."""
    n = table.num_rows
    api_key = _col(table, "api_key")
    key_id = pa.nulls(n, pa.string())
    if api_key is not None:
        key_text = to_string(api_key)[0]
        hashed_already = pc.fill_null(pc.match_substring_regex(key_text, r"^[0-9a-f]{64}$"), False)
        key_id = pc.if_else(hashed_already, key_text, _sha256_hex(key_text))
    table = _add(table, "derived.api_key_id", key_id)
    key_account = pc.binary_join_element_wise("key:", key_id, "")
    sources = {
        "organization": _col(table, "organization_id"),
        "team": _col(table, "team_id"),
        "api_key": key_account,
        "user": _col(table, "user"),
    }
    choice = mapping.account_from or "auto"
    if choice == "auto":
        present = [to_string(a)[0] for a in (sources["organization"], sources["team"]) if a is not None]
        present = [pc.if_else(pc.equal(pc.utf8_trim_whitespace(a), ""), None, a) for a in present]
        account = pc.coalesce(*present, key_account)
    else:
        chosen = sources[choice]
        account = to_string(chosen)[0] if chosen is not None else pa.nulls(n, pa.string())
    table = _add(table, "derived.account_id", account)
    status = _col(table, "status")
    if status is not None:
        low = pc.utf8_lower(to_string(status)[0])
        mapped = pc.if_else(
            pc.equal(low, "success"), "ok", pc.if_else(pc.equal(low, "failure"), "error", low)
        )
        table = _add(table, "derived.status", mapped)
    start, end = _col(table, "startTime"), _col(table, "endTime")
    if start is not None and end is not None:
        s, _ = to_timestamp(start, unit=mapping.timestamp_unit, fmt=mapping.timestamp_format)
        e, _ = to_timestamp(end, unit=mapping.timestamp_unit, fmt=mapping.timestamp_format)
        table = _add(table, "derived.duration_ms", _duration_ms(s, e))
    return _add_prompts(table, _col(table, "messages"))


PRESET_MAPPINGS: dict[str, Mapping] = {"otel": OTEL_MAPPING, "litellm": LITELLM_MAPPING}
DERIVERS: dict[str, Derive] = {"otel": derive_otel, "litellm": derive_litellm}


def resolve(fmt: str, user: Mapping | None, account_from: str | None = None) -> tuple[Mapping, Derive | None]:
    """The effective mapping and derive step for ``--format``/``--mapping``/``--account-from``."""
    preset = user.preset if user is not None and user.preset else None
    if preset is None and user is not None and user.format == "otel":
        preset = "otel"  # OTLP spans are only meaningful through the OTel preset
    if fmt in PRESET_MAPPINGS:
        if preset is not None and preset != fmt:
            raise DistillguardError(f"--format {fmt} conflicts with the mapping's preset {preset}")
        preset = fmt
    base = PRESET_MAPPINGS[preset] if preset else Mapping()
    mapping = user.over(base) if user is not None else base
    if account_from is not None:
        if preset != "litellm":
            raise DistillguardError("--account-from applies to the litellm format only")
        from dataclasses import replace

        mapping = replace(mapping, account_from=account_from)
    return mapping, DERIVERS.get(preset) if preset else None
