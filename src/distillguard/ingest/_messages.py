"""Chat messages (JSON text) -> last user turn and system prompt, in one DuckDB pass.

Understood shapes, all common in logs:

* OpenAI / LiteLLM: ``[{"role": "user", "content": "..."}]`` where ``content`` may
  also be a list of parts ``[{"type": "text", "text": "..."}]``;
* OTel GenAI ``gen_ai.input.messages``: ``[{"role": "user", "parts":
  [{"type": "text", "content": "..."}]}]``;
* an array whose items are themselves JSON text of such messages (OTel array
  attributes of strings).

``prompt`` is the text of the last ``user`` message; ``system_prompt`` the text of
all ``system``/``developer`` messages joined by a newline. Text parts of one message
are joined by a newline; non-text parts (images) are ignored. Anything that is not a
JSON array yields nulls (the prompt is optional content, its absence is not an error).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from distillguard import _duck

_SQL = """
WITH src AS (
    SELECT i, CASE WHEN json_valid(m) AND json_type(m::JSON) = 'ARRAY' THEN m::JSON END AS j
    FROM messages_in
),
items AS (
    SELECT i, list_transform(
        CAST(j AS JSON[]),
        lambda x: CASE WHEN json_type(x) = 'VARCHAR' AND json_valid(x ->> '$')
                       THEN (x ->> '$')::JSON ELSE x END
    ) AS msgs
    FROM src
),
texts AS (
    SELECT i, list_transform(msgs, lambda x: {
        'role': x ->> 'role',
        'text': CASE
            WHEN json_type(x -> 'content') = 'VARCHAR' THEN x ->> 'content'
            WHEN json_type(x -> 'content') = 'ARRAY' THEN array_to_string(list_transform(
                CAST(x -> 'content' AS JSON[]),
                lambda p: CASE WHEN json_type(p) = 'VARCHAR' THEN p ->> '$'
                               ELSE coalesce(p ->> 'text', p ->> 'content') END), chr(10))
            WHEN json_type(x -> 'parts') = 'ARRAY' THEN array_to_string(list_transform(
                CAST(x -> 'parts' AS JSON[]),
                lambda p: coalesce(p ->> 'content', p ->> 'text')), chr(10))
        END
    }) AS t
    FROM items
)
SELECT
    i,
    nullif(list_filter(t, lambda x: x.role = 'user')[-1].text, '') AS prompt,
    nullif(array_to_string(list_transform(
        list_filter(t, lambda x: x.role IN ('system', 'developer')), lambda x: x.text), chr(10)), '')
        AS system_prompt
FROM texts
ORDER BY i
"""


def extract_prompts(messages: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``(prompt, system_prompt)`` string arrays, aligned with ``messages``."""
    n = len(messages)
    if n == 0:
        return pa.array([], pa.string()), pa.array([], pa.string())
    table = pa.table({"i": pa.array(np.arange(n, dtype=np.int64)), "m": messages.cast(pa.string())})
    con = _duck.connect()
    try:
        con.register("messages_in", table)
        out = con.sql(_SQL).to_arrow_table()
    finally:
        con.close()
    prompt = out.column("prompt").combine_chunks().cast(pa.string())
    system = out.column("system_prompt").combine_chunks().cast(pa.string())
    return prompt, system
