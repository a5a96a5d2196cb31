"""serve: the state behind an HTTP API for gateways (``distillguard serve --state DIR``).

Live ingest (NDJSON in event schema v1, OTLP/HTTP GenAI spans) made durable in a
write-ahead log before any 2xx, background increments of the persistent state
(``distillguard.state``), an in-memory risk index for synchronous lookups with a
recommended action, webhooks, Prometheus metrics and scoped bearer tokens. Needs the
``serve`` extra (FastAPI, uvicorn).
"""

from distillguard.serve._params import ACTIONS, ActionPolicy, ServeParams, load_params

__all__ = ["ACTIONS", "ActionPolicy", "ServeParams", "load_params"]
