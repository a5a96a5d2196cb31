"""Fixed STIX 2.1 objects and ids every distillguard provider agrees on.

TLP 2.0 marking definitions are the OASIS CTI TC's published objects (property extension
``extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d``, oasis-open/
cti-stix-common-objects ``extension-definition-specifications/tlp-2.0``); their ids and
``created`` are fixed by that publication and consumers recognise them by id. ``stix2``
itself ships only TLP 1.0, so they are built here.

The distillguard extension definition, its creator identity and the MITRE ATLAS
attack-pattern have fixed ids and timestamps, so every provider's bundle carries the
same objects instead of conflicting versions.
"""

from __future__ import annotations

import uuid
from typing import Any

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED = "2022-10-01T00:00:00.000Z"
TLP2_MARKING_IDS: dict[str, str] = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
DEFAULT_TLP = "amber"

#: uuid5 namespace for every id distillguard derives (stable across runs and providers).
NAMESPACE = uuid.UUID("5b0f4d7e-3c2a-5e61-9a51-0d6f1c2b7a44")
FIXED_CREATED = "2026-01-01T00:00:00.000Z"
EXTENSION_SCHEMA_URL = "https://github.com/distillguard/distillguard/blob/main/docs/sharing.md"
ATLAS_ID = "AML.T0024.002"
#: Custom observable types used in indicator patterns (defined by EXTENSION_ID's schema).
HASH_OBJECT = "x-distillguard-keyed-hash"
SKETCH_OBJECT = "x-distillguard-template-sketch"


def derived_id(stix_type: str, *parts: str) -> str:
    """A deterministic STIX id from parts (callers pass keyed material, never raw values).

    STIX 2.1 wants UUIDv4 ids for domain objects, so the name-based digest is stamped with
    the version-4 bits: stable across re-exports (new versions, not duplicates) and valid.
    """
    digest = uuid.uuid5(NAMESPACE, "|".join(parts)).bytes
    return f"{stix_type}--{uuid.UUID(bytes=digest, version=4)}"


PROJECT_IDENTITY_ID = derived_id("identity", "distillguard project")
EXTENSION_ID = derived_id("extension-definition", "distillguard keyed indicator v1")
ATTACK_PATTERN_ID = derived_id("attack-pattern", "mitre-atlas", ATLAS_ID)


def identity_id_for(name: str) -> str:
    """Default identity id of a provider name (config may pin another)."""
    return derived_id("identity", "provider", name.strip().lower())


def tlp_marking(level: str) -> Any:
    """The official TLP 2.0 marking-definition for ``level`` as a stix2 object."""
    import stix2

    level = level.lower()
    if level not in TLP2_MARKING_IDS:
        from distillguard.errors import DistillguardError

        raise DistillguardError(f"unknown TLP level {level!r} (choose {', '.join(TLP2_MARKING_IDS)})")
    return stix2.MarkingDefinition(
        id=TLP2_MARKING_IDS[level],
        created=TLP2_CREATED,
        name=f"TLP:{level.upper()}",
        extensions={TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level}},
    )


def project_objects() -> list[Any]:
    """The project identity, the keyed-indicator extension definition, the ATLAS technique."""
    import stix2

    project = stix2.Identity(
        id=PROJECT_IDENTITY_ID,
        created=FIXED_CREATED,
        modified=FIXED_CREATED,
        name="distillguard project",
        identity_class="organization",
        description="Defines the distillguard keyed-indicator STIX extension.",
    )
    extension = stix2.ExtensionDefinition(
        id=EXTENSION_ID,
        created_by_ref=PROJECT_IDENTITY_ID,
        created=FIXED_CREATED,
        modified=FIXED_CREATED,
        name="distillguard keyed indicator",
        description=(
            "Keyed HMAC-SHA256 hashes of identifiers (payment, IP, /24, TLS, user agent) and keyed "
            "MinHash sketches of prompt templates, under a sharing group's key identified by key_id. "
            f"Patterns use the custom observable types {HASH_OBJECT} and {SKETCH_OBJECT}."
        ),
        schema=EXTENSION_SCHEMA_URL,
        version="1.0.0",
        extension_types=["property-extension"],
    )
    attack_pattern = stix2.AttackPattern(
        id=ATTACK_PATTERN_ID,
        created_by_ref=PROJECT_IDENTITY_ID,
        created=FIXED_CREATED,
        modified=FIXED_CREATED,
        name="Extract AI Model",
        description="Querying a model's API at scale to train a copy (model distillation).",
        external_references=[
            {
                "source_name": "mitre-atlas",
                "external_id": ATLAS_ID,
                "url": f"https://atlas.mitre.org/techniques/{ATLAS_ID}",
            }
        ],
    )
    return [project, extension, attack_pattern]


def stix_string_list(values: list[str]) -> str:
    """A STIX pattern set literal; values are hex or key ids, quotes are escaped anyway."""
    return ", ".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)
