"""Where refreshed IP feeds live, and which of them a scan without ``--infra`` reads.

Why: ``--infra DIR`` is the way to give real feeds, but a user who never passes it
should still get them once they ran ``distillguard infra refresh``. The refresh
writes into one cache directory; ``IpInfra.default()`` reads the files its manifest
lists from there, under the embedded floor and the packaged cloud ranges.

Location (first that applies):

1. ``$DISTILLGUARD_INFRA_DIR``; the value ``off`` (or empty) disables the cache;
2. ``$XDG_CACHE_HOME/distillguard/ip_infra``;
3. ``~/.cache/distillguard/ip_infra``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError

#: Environment variable naming the cache directory (``off`` disables it).
ENV_VAR = "DISTILLGUARD_INFRA_DIR"
#: The refresh manifest inside the cache: what was fetched, from where, when, under which licence.
MANIFEST_NAME = "distillguard-infra-manifest.json"
#: Manifest format version (bumped when its fields change meaning).
MANIFEST_VERSION = 1


def cache_dir() -> Path | None:
    """The IP feed cache directory (it may not exist yet); None when disabled."""
    value = os.environ.get(ENV_VAR)
    if value is not None:
        value = value.strip()
        return None if value in ("", "off") else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "distillguard" / "ip_infra"


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The refresh manifest of ``directory``, or None when there is none."""
    path = directory / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DistillguardError(
            f"{path}: unreadable refresh manifest ({err}); run `distillguard infra refresh` again"
        ) from err
    if not isinstance(doc, dict) or not isinstance(doc.get("sources"), dict):
        raise DistillguardError(f"{path}: not a distillguard refresh manifest")
    return doc


def cached_files(directory: Path | None) -> list[Path]:
    """The feed files a refresh left in ``directory`` (manifest order), existing ones only."""
    if directory is None or not directory.is_dir():
        return []
    manifest = read_manifest(directory)
    if manifest is None:
        return []
    out = []
    for entry in manifest["sources"].values():
        name = entry.get("file") if isinstance(entry, dict) else None
        if name and entry.get("ok_at") and (directory / name).is_file():
            out.append(directory / name)
    return out


def manifest_mtime(directory: Path | None) -> int:
    """Modification time (ns) of the manifest, 0 when absent: a cache key for loaded tables."""
    if directory is None:
        return 0
    try:
        return (directory / MANIFEST_NAME).stat().st_mtime_ns
    except OSError:
        return 0
