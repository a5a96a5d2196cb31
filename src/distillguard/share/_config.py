"""Sharing configuration: who we are, whom we trust, where the TAXII server is.

A config file (TOML, YAML or JSON; keys at top level or under ``share``)::

    identity = "Example AI"                 # our STIX identity name
    identity_id = "identity--..."           # optional; default derived from the name
    trusted_partners = ["Acme Models", "identity--..."]   # names or identity ids
    tlp = "amber"
    share_ips = false                       # true: export client IPs and /24s (members can read them)
    strict_intel = false                    # true: a skipped intel file or indicator is an error
    [intel]                                 # caps on each partner bundle file (share._intel_io.IntelLimits)
    max_bundle_bytes = 67108864
    max_indicators = 20000
    max_depth = 32
    [taxii]
    server = "https://taxii.example.org/api1/"
    collection = "9cfa669c-ee94-4ece-afd2-f8edac37d8fd"
    user = "example"                        # DISTILLGUARD_TAXII_USER overrides
    password = "..."                        # DISTILLGUARD_TAXII_PASSWORD overrides
    state_file = "taxii_state.json"
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError

ENV_USER = "DISTILLGUARD_TAXII_USER"
ENV_PASSWORD = "DISTILLGUARD_TAXII_PASSWORD"


@dataclass(frozen=True)
class ShareConfig:
    """Parsed sharing configuration (every field optional; commands say what they need)."""

    identity: str | None = None
    identity_id: str | None = None
    trusted_partners: tuple[str, ...] | None = None
    tlp: str | None = None
    taxii: dict[str, Any] = field(default_factory=dict)
    share_ips: bool = False
    strict_intel: bool = False
    intel: dict[str, int] = field(default_factory=dict)

    @property
    def intel_limits(self) -> Any:
        """:class:`~distillguard.share._intel_io.IntelLimits` with this config's ``[intel]`` caps."""
        from distillguard.share._intel_io import IntelLimits

        return IntelLimits(**self.intel)

    def require_identity(self, option: str | None) -> tuple[str, str]:
        """(name, id) of our identity from the option or config; an error if neither has it."""
        from distillguard.share._stix import identity_id_for

        name = option or self.identity
        if not name:
            raise DistillguardError(
                "no provider identity: pass --identity NAME or set identity in the config"
            )
        ident = self.identity_id if (self.identity_id and not option) else identity_id_for(name)
        if not ident.startswith("identity--"):
            raise DistillguardError(f"identity_id {ident!r} must start with 'identity--'")
        return name, ident

    def credentials(self) -> tuple[str | None, str | None]:
        """TAXII user/password: environment first, then the config file."""
        user = os.environ.get(ENV_USER) or self.taxii.get("user")
        password = os.environ.get(ENV_PASSWORD) or self.taxii.get("password")
        return user, password


def load_config(path: str | os.PathLike[str] | None) -> ShareConfig:
    """Read a config file (None -> empty config); defects are one-line errors."""
    if path is None:
        return ShareConfig()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise DistillguardError(f"cannot read config {p}: {err.strerror}") from None
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    except Exception as err:  # parse errors of three formats
        raise DistillguardError(f"config {p} does not parse: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise DistillguardError(f"config {p} must be a mapping")
    data = data.get("share", data)
    trusted = data.get("trusted_partners")
    if trusted is not None and (
        not isinstance(trusted, list) or not all(isinstance(t, str) for t in trusted)
    ):
        raise DistillguardError(f"config {p}: trusted_partners must be a list of names or identity ids")
    taxii = data.get("taxii") or {}
    if not isinstance(taxii, dict):
        raise DistillguardError(f"config {p}: taxii must be a mapping")
    intel = data.get("intel") or {}
    limit_keys = ("max_bundle_bytes", "max_indicators", "max_depth", "max_warning_lines")
    if not isinstance(intel, dict) or any(
        k not in limit_keys or isinstance(v, bool) or not isinstance(v, int) or v < 1
        for k, v in intel.items()
    ):
        raise DistillguardError(
            f"config {p}: [intel] takes positive integers for {', '.join(limit_keys)} only"
        )
    flags = {k: data.get(k, False) for k in ("share_ips", "strict_intel")}
    for k, v in flags.items():
        if not isinstance(v, bool):
            raise DistillguardError(f"config {p}: {k} must be true or false")
    return ShareConfig(
        **flags,
        intel=intel,
        identity=data.get("identity"),
        identity_id=data.get("identity_id"),
        trusted_partners=tuple(trusted) if trusted is not None else None,
        tlp=data.get("tlp"),
        taxii=taxii,
    )
