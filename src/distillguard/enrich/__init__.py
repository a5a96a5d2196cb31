"""enrich stage: events -> events + IP infrastructure + prompt templates and tags.

Public surface (pinned by ``tests/enrich/test_enrich_stage.py``):

* :func:`enrich` - the stage, one Arrow batch or table at a time;
* :class:`IpInfra` (``enrich.ip_infra``) - offline IP -> ASN / org / kind / country;
* ``enrich.prompts`` - ``normalize_templates``, ``template_ids``,
  ``minhash_signatures``, ``lsh_family_ids``, frame ids and families;
* ``enrich.tags`` - ``tag_prompts`` and the YAML rules in ``enrich/rules``.

Names load lazily so ``distillguard.enrich._cli`` (and ``distillguard --help``)
does not pay for pyarrow and numpy.
"""

from __future__ import annotations

from typing import Any

__all__ = ["IP_COLUMNS", "TEMPLATE_COLUMNS", "EnrichParams", "IpInfra", "enrich", "enriched_schema"]

_LAZY = {
    "IP_COLUMNS": "distillguard.enrich.ip_infra",
    "IpInfra": "distillguard.enrich.ip_infra",
    "TEMPLATE_COLUMNS": "distillguard.enrich._enrich",
    "EnrichParams": "distillguard.enrich._enrich",
    "enrich": "distillguard.enrich._enrich",
    "enriched_schema": "distillguard.enrich._enrich",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'distillguard.enrich' has no attribute {name!r}")
