"""When the PySpark tests skip and when they fail (``tests/engines/spark.require_spark``):
in CI a missing Java fails them, unless ``.ci/run`` could not install it and said why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.engines import spark


@pytest.fixture
def no_java(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    pytest.importorskip("pyspark")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("DG_JAVA_UNAVAILABLE", raising=False)
    monkeypatch.delenv("DG_REQUIRE_SPARK", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    return monkeypatch


def test_missing_java_outside_ci_skips_with_the_install_hint(no_java: pytest.MonkeyPatch) -> None:
    no_java.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="need java \\(apt-get install default-jre-headless\\)"):
        spark.require_spark()


def test_missing_java_in_ci_fails(no_java: pytest.MonkeyPatch) -> None:
    no_java.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="need java"):
        spark.require_spark()


def test_missing_java_under_ci_run_fails(no_java: pytest.MonkeyPatch) -> None:
    no_java.delenv("CI", raising=False)
    no_java.setenv("DG_REQUIRE_SPARK", "1")
    with pytest.raises(pytest.fail.Exception, match="need java"):
        spark.require_spark()


def test_java_ci_could_not_install_skips_with_its_reason(no_java: pytest.MonkeyPatch) -> None:
    no_java.setenv("CI", "1")
    no_java.setenv("DG_JAVA_UNAVAILABLE", "no java and no apt-get to install it")
    with pytest.raises(pytest.skip.Exception, match="no apt-get to install it"):
        spark.require_spark()


def test_java_under_java_home_counts(no_java: pytest.MonkeyPatch, tmp_path: Path) -> None:
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("#!/bin/sh\n")
    java.chmod(0o755)
    no_java.setenv("JAVA_HOME", str(tmp_path))
    no_java.setenv("CI", "1")
    spark.require_spark()  # neither skips nor fails
