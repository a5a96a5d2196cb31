"""What differs between Ibis backends, in one place: keeping a result, handing over Arrow.

The relational stages are Ibis expressions written once; what each engine needs besides is
here, so no stage branches on the engine itself:

* :func:`keep` pins an intermediate result. On DuckDB it is a temp table: a long query over
  a chain of joins can be planned badly (a misestimate that joins two per-key count tables
  on the key alone), and a table per step fixes the join order. On PySpark it is a
  temp view over a local checkpoint (rows computed once, held by the executors), so the
  many per-checkpoint queries over one partial do not recompute it from the events (Spark
  plans every collected query whole from its sources). A local checkpoint is not
  fault-tolerant: on a cluster that loses an executor the scan fails and is re-run. Elsewhere
  the expression stays lazy.
* :func:`arrow_table` hands a small Arrow table (this checkpoint's features, each
  account's main /24) to the backend: a native temp table on DuckDB (it joins several times
  faster than a registered Arrow scan), a DataFrame from Arrow on Spark (64-bit unsigned
  hashes as signed, bit for bit: Spark has no unsigned integers), an Ibis memtable elsewhere.
* :func:`read_parquet` reads Parquet files as one table, columns missing from some files as
  nulls (DuckDB's ``union_by_name``; other backends read them with their defaults).
* :func:`epoch_us` is a timestamp as whole epoch microseconds on every engine (DuckDB's own
  ``epoch_us``, Spark's ``unix_micros``: PySpark cannot extract microseconds).
* :func:`epoch_days` is a timestamp as fractional days since 1970 with the same bits on every
  engine (Ibis' ``epoch_seconds`` is whole seconds on Spark).
* :func:`connect_engine` / :func:`spark_backend` give ``scan --engine`` its backend (PySpark
  is imported only then).
* :func:`text_kernel` says where the per-text enrichment work runs: in this process, or on
  Spark's executors (``mapInArrow``, :mod:`distillguard.enrich._spark_text`).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "arrow_table",
    "connect_engine",
    "drop",
    "epoch_days",
    "epoch_us",
    "keep",
    "read_parquet",
    "spark_backend",
    "spark_safe",
    "text_kernel",
]


def spark_safe(table: pa.Table) -> pa.Table:
    """``table`` with its unsigned 64-bit columns (prompt and system hashes) as signed ones,
    bit for bit: Spark has no unsigned integers, and a safe cast fails on every hash at or
    above 2**63. Equal hashes stay equal and distinct ones distinct, which is all a hash is
    used for."""
    cols = [
        pc.cast(table[f.name], pa.int64(), safe=False) if f.type == pa.uint64() else table[f.name]
        for f in table.schema
    ]
    return pa.table(cols, names=table.column_names)


def keep(con: Any, name: str, expr: Any) -> Any:
    """``expr`` computed once and kept as ``name`` (see the module docstring), as an Ibis table."""
    if con.name == "duckdb":
        return con.create_table(name, expr, temp=True, overwrite=True)
    if con.name == "pyspark":
        # create_view registers the expression's in-memory tables (Ibis 12's cache() does
        # not, and fails on them); localCheckpoint computes the rows now, once, and cuts the
        # lineage, so the kept view depends on no other view (dropping one is safe)
        defined = con.create_view(f"{name}__def", expr, overwrite=True)
        df = con._session.table(defined.get_name()).localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        return con.table(name)
    return expr


def drop(con: Any, name: str) -> None:
    """Forget what :func:`keep` kept as ``name`` (nothing to do for a lazy expression)."""
    if con.name == "duckdb":
        con.drop_table(name, force=True)
    elif con.name == "pyspark":
        for view in (name, f"{name}__def"):
            con._session.catalog.dropTempView(view)


def arrow_table(con: Any, name: str, table: pa.Table) -> Any:
    """``table`` (small: one row per account at most) as an Ibis table ``name`` on ``con``."""
    if con.name == "duckdb":
        return con.create_table(name, obj=table, temp=True, overwrite=True)
    if con.name == "pyspark":
        con._session.createDataFrame(spark_safe(table)).createOrReplaceTempView(name)
        return con.table(name)
    import ibis

    return ibis.memtable(table)


def read_parquet(con: Any, files: Any, name: str) -> Any:
    """The Parquet ``files`` as one Ibis table ``name`` on ``con`` (a view: nothing is read
    yet); on DuckDB a column missing from some files reads as null there."""
    paths = [str(f) for f in files]
    if con.name == "duckdb":
        return con.read_parquet(paths, table_name=name, union_by_name=True)
    # Ibis' PySpark reader takes one path (a list is read as a glob pattern)
    return con.read_parquet(paths[0] if len(paths) == 1 else paths, table_name=name)


def epoch_us(con: Any, ts: Any) -> Any:
    """Timestamp ``ts`` (an Ibis column) as whole microseconds since 1970-01-01 UTC (int64)."""
    import ibis

    if con.name in ("duckdb", "pyspark"):
        # the engine's own function (a builtin: no Python runs). On DuckDB the portable
        # arithmetic below is ~17x slower (5M events: 8.7 s against 0.5 s): it converts
        # every timestamp to the session zone and back
        def micros(t: Any) -> Any: ...

        own = "epoch_us" if con.name == "duckdb" else "unix_micros"
        return ibis.udf.scalar.builtin(micros, name=own, signature=((ts.type(),), "int64"))(ts)
    # whole seconds of the timestamp truncated to the second, plus its microsecond field:
    # integer arithmetic only (Ibis types ``epoch_seconds`` as an integer that DuckDB
    # returns fractional)
    return ts.truncate("s").epoch_seconds().cast("int64") * 1_000_000 + ts.microsecond().cast("int64")


def epoch_days(con: Any, ts: Any) -> Any:
    """Timestamp ``ts`` (an Ibis column) as days since 1970-01-01 UTC, microseconds kept."""
    if con.name == "pyspark":
        import ibis

        def unix_micros(t: Any) -> Any:  # Spark's own function (a builtin: no Python runs)
            ...

        micros = ibis.udf.scalar.builtin(unix_micros, signature=((ts.type(),), "int64"))
        # DuckDB's epoch of a timestamp is micros / 1e6 as a double: the same roundings here
        # (as a double first: Spark would divide an integer by 1e6 as decimals)
        return micros(ts).cast("float64") / 1e6 / 86400.0
    return ts.epoch_seconds() / 86400.0


def text_kernel(con: Any) -> Any:
    """What computes the per-text enrichment parts (templates, MinHash band keys, tags) for
    backend ``con``: None (this process) without a backend or on DuckDB, a
    :class:`~distillguard.enrich._spark_text.SparkTextKernel` (the executors) on PySpark."""
    if con is not None and con.name == "pyspark":
        from distillguard.enrich._spark_text import SparkTextKernel

        return SparkTextKernel(con._session)
    return None


#: Shuffle partitions of the scan's own local Spark session: Spark's default (200) makes every
#: group-by of a one-machine input pay for 200 tiny tasks; adaptive execution merges small ones.
SPARK_SHUFFLE_PARTITIONS: int = 8

#: The engines ``scan --engine`` accepts.
ENGINES: tuple[str, ...] = ("duckdb", "pyspark")


def spark_backend(master: str = "local[*]") -> Any:
    """An Ibis PySpark backend over a local Spark session (created on first use: UTC, no UI),
    or a one-line :class:`~distillguard.errors.DistillguardError` when PySpark or Java is
    missing. A running session (``spark-submit`` against a cluster) is reused as it is."""
    import importlib.util
    import os
    import shutil

    from distillguard.errors import DistillguardError

    if importlib.util.find_spec("pyspark") is None:
        raise DistillguardError("--engine pyspark needs PySpark: pip install 'distillguard[spark]'")
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise DistillguardError(
            "--engine pyspark needs Java (17 or 21): install a JRE (apt-get install default-jre-headless)"
        )
    import ibis
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    if spark is None:
        spark = (
            SparkSession.builder.master(master)
            .appName("distillguard-scan")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.shuffle.partitions", str(SPARK_SHUFFLE_PARTITIONS))
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
    elif spark.conf.get("spark.sql.session.timeZone") != "UTC":
        raise DistillguardError("the Spark session must run in UTC: spark.sql.session.timeZone=UTC")
    return ibis.pyspark.connect(spark)


def connect_engine(engine: str) -> Any:
    """The Ibis backend ``scan --engine`` names (``duckdb``: None, the scan connects itself)."""
    from distillguard.errors import DistillguardError

    if engine == "duckdb":
        return None
    if engine == "pyspark":
        return spark_backend()
    raise DistillguardError(f"--engine {engine!r}: expected one of {', '.join(ENGINES)}")
