"""A local[2] Spark session for the engine tests, or why there is none.

Outside CI a machine without PySpark or Java skips the PySpark tests; in CI (``CI`` set, or
``DG_REQUIRE_SPARK``, which ``.ci/run`` sets) that is a failure, so a broken install cannot
pass as "skipped". The one exception: ``.ci/run`` could not install Java (no ``apt-get``, or
the install failed) and says why in ``DG_JAVA_UNAVAILABLE``; the tests then skip with that
reason.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from typing import Any

import pytest

#: Shuffle partitions of the test session: the test inputs are small, and each partition
#: is a task Spark schedules (the default 200 makes every group-by slow).
SHUFFLE_PARTITIONS = 2


def _has_java() -> bool:
    """``java`` on PATH, or under ``JAVA_HOME`` (where Spark looks first)."""
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(
        home and os.access(os.path.join(home, "bin", "java"), os.X_OK)
    )


def require_spark() -> None:
    """Skip (outside CI) or fail (in CI) when PySpark or Java is missing; skip in CI too when
    ``.ci/run`` could not install Java (``DG_JAVA_UNAVAILABLE``)."""
    no_java = os.environ.get("DG_JAVA_UNAVAILABLE")
    missing = [
        what
        for what, ok in (
            ("pyspark (pip install -e '.[spark]')", importlib.util.find_spec("pyspark") is not None),
            (f"java ({no_java or 'apt-get install default-jre-headless'})", _has_java()),
        )
        if not ok
    ]
    if missing:
        msg = "PySpark tests need " + " and ".join(missing)
        pyspark_missing = missing[0].startswith("pyspark")
        required = os.environ.get("CI") or os.environ.get("DG_REQUIRE_SPARK")
        if required and (pyspark_missing or not no_java):
            pytest.fail(msg)
        pytest.skip(msg)


def session(app: str) -> Any:
    """The shared local[2] session (UTC, no UI, quiet logs)."""
    require_spark()
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName(app)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(SHUFFLE_PARTITIONS))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
