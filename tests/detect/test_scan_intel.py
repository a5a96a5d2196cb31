"""Partner intel in the scan: corroborates local evidence, never convicts alone, honours the
sharing config (our own bundle coming back is ignored; untrusted partners are skipped)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from dg_detect_world import standard_world, write_event_dir

from distillguard.detectors.base import FAMILIES
from distillguard.scoring import ScoringParams, verdicts


def _fam(**scores: float) -> np.ndarray:
    row = np.zeros((1, len(FAMILIES)))
    for k, v in scores.items():
        row[0, FAMILIES.index(k)] = v
    return row


def test_partner_word_alone_is_never_attack() -> None:
    p = ScoringParams()
    _, alone = verdicts(_fam(intel=1.0), p)
    _, with_weak_local = verdicts(_fam(intel=1.0, traffic=0.3), p)
    _, corroborated = verdicts(_fam(intel=0.9, extraction=0.8), p)
    assert alone[0] != "attack" and with_weak_local[0] != "attack"
    assert corroborated[0] == "attack"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    share = pytest.importorskip("distillguard.share")
    from distillguard.scan import scan

    root = tmp_path_factory.mktemp("intel")
    logs = write_event_dir(standard_world(0), root / "logs")
    scan([logs], root / "alpha", progress=False, replay=False, report=False)
    key = root / "group.key"
    share.generate_key(key)
    bundle = root / "alpha.json"
    share.export_bundle(root / "alpha", key_file=key, out=bundle, events=[logs], identity="Alpha AI")
    return {"logs": logs, "key": key, "bundle": bundle, "root": root}


def _config(path: Path, **cfg: object) -> Path:
    path.write_text(json.dumps(cfg))
    return path


def test_intel_adds_partner_signals_and_respects_config(shared: dict[str, Path]) -> None:
    from distillguard.scan import scan

    root, common = shared["root"], {"progress": False, "replay": False, "report": False}
    beta_cfg = _config(root / "beta.json", identity="Beta AI", trusted_partners=["Alpha AI"])
    res = scan(
        [shared["logs"]],
        root / "beta",
        intel=shared["bundle"],
        key_file=shared["key"],
        share_config=beta_cfg,
        **common,
    )
    intel = res.signals.filter(np.asarray(res.signals["family"].to_pylist()) == "intel")
    assert intel.num_rows > 0 and res.meta["intel"]["signals"] == intel.num_rows
    verdict = dict(
        zip(res.accounts["account_id"].to_pylist(), res.accounts["verdict"].to_pylist(), strict=True)
    )
    fams = {}
    for a, f in zip(res.signals["account_id"].to_pylist(), res.signals["family"].to_pylist(), strict=True):
        fams.setdefault(a, set()).add(f)
    # every attack verdict rests on at least one local family besides intel
    assert all(fams[a] - {"intel"} for a, v in verdict.items() if v == "attack")
    # our own export coming back, and a partner we do not trust, add nothing
    own = scan(
        [shared["logs"]],
        root / "own",
        intel=shared["bundle"],
        key_file=shared["key"],
        share_config=_config(root / "own.json", identity="Alpha AI"),
        **common,
    )
    untrusted = scan(
        [shared["logs"]],
        root / "untrusted",
        intel=shared["bundle"],
        key_file=shared["key"],
        share_config=_config(root / "u.json", identity="Beta AI", trusted_partners=["Gamma Inc"]),
        **common,
    )
    for r in (own, untrusted):
        assert "intel" not in set(r.signals["family"].to_pylist())


def test_intel_without_key_is_a_user_error(shared: dict[str, Path]) -> None:
    from distillguard.errors import DistillguardError
    from distillguard.scan import scan

    with pytest.raises(DistillguardError):
        scan([shared["logs"]], shared["root"] / "x", intel=shared["bundle"], progress=False, report=False)
