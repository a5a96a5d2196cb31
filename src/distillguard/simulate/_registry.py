"""Persona registry: persona name -> default profile and implementing class."""

from __future__ import annotations

from distillguard.simulate._persona import Persona
from distillguard.simulate._profile import Profile
from distillguard.simulate._scenario import PersonaEntry


def _tables() -> tuple[dict[str, Profile], dict[str, type[Persona]]]:
    from distillguard.simulate import _attacks, _benign

    profiles = {**_benign.PROFILES, **_attacks.PROFILES}
    factories = {**_benign.FACTORIES, **_attacks.FACTORIES}
    return profiles, factories


def known_personas() -> list[str]:
    """Every persona a scenario may name (benign first, then attacks)."""
    return list(_tables()[0])


def attack_personas() -> list[str]:
    return [name for name, p in _tables()[0].items() if p.is_attack]


def make_persona(entry: PersonaEntry, salt: int) -> Persona:
    """Instantiate the persona of a scenario entry with its overrides and options."""
    from distillguard.errors import DistillguardError

    profiles, factories = _tables()
    profile = profiles[entry.persona].with_overrides(entry.params)
    from distillguard.simulate._prompts import FAMILY_NAMES

    unknown = sorted(set(profile.prompts) - set(FAMILY_NAMES))
    if unknown:
        raise DistillguardError(
            f"persona {entry.key}: unknown prompt families {unknown}; known: {FAMILY_NAMES}"
        )
    cls = factories.get(entry.persona, Persona)
    campaign = entry.campaign or (f"{entry.key}-campaign" if profile.is_attack else None)
    try:
        return cls(profile, entry.accounts, entry.events, salt, campaign, **entry.options)
    except TypeError as err:
        raise DistillguardError(f"persona {entry.key}: bad options: {err}") from None
