"""The raw layer of the working database as a Parquet lake, for the dbt project on Spark.

The dbt sources are the `raw.*` tables ingestion writes into the DuckDB working database.
Spark cannot read a DuckDB file, so `export_raw` copies each raw table to Parquet (one folder
per table under the lake directory) and `register_raw` declares those folders as the tables
of Spark's database `raw`, in the catalog the dbt target `spark_local` uses
(dbt_project/profiles.yml): the same warehouse directory and Derby metastore under
CRM_SPARK_DIR. Derby admits one JVM at a time, so `register_raw` stops its session and its JVM
before it returns, and dbt can open the catalog.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


def spark_conf(spark_dir: Path) -> dict[str, str]:
    """The settings of the `spark_local` profile target for a catalog under `spark_dir`."""
    spark_dir = spark_dir.resolve()
    return {
        "spark.master": "local[2]",
        "spark.driver.memory": "2g",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.warehouse.dir": str(spark_dir / "warehouse"),
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={spark_dir / 'metastore_db'};create=true"
        ),
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "ERROR",
        "spark.sql.legacy.createHiveTableByDefault": "false",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_dir}",
    }


def export_raw(work_db: Path, lake_dir: Path) -> list[str]:
    """Copy every table of schema `raw` of `work_db` to `lake_dir/<table>/` as Parquet,
    replacing what an earlier export left; the names of the tables, sorted."""
    with duckdb.connect(str(work_db), read_only=True) as con:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'raw' and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
        for table in tables:
            folder = lake_dir / table
            # a folder left by an earlier export would keep files of rows since deleted
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            con.execute(f"copy raw.\"{table}\" to '{folder / 'data.parquet'}' (format parquet)")
    return tables


@contextmanager
def spark_session(spark_dir: Path) -> Iterator:
    """A local SparkSession on the catalog under `spark_dir`, stopped on exit (with its JVM's
    hold on the Derby metastore)."""
    # imported here: pyspark is in the optional uv group `spark`, not a pipeline dependency
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf(spark_dir).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        yield spark
    finally:
        spark.stop()
        _stop_jvm()


def _stop_jvm() -> None:
    """End the JVM pyspark started: a stopped session's JVM still holds the Derby metastore,
    and dbt's own session (another process) could not open it. The JVM exits when its stdin
    closes; the next session starts a new one."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is None:
        return
    gateway.shutdown()
    process = getattr(gateway, "proc", None)
    if process is not None:
        process.stdin.close()
        process.wait(timeout=60)
    SparkContext._gateway = None
    SparkContext._jvm = None


def register_raw(lake_dir: Path, spark_dir: Path, tables: list[str]) -> None:
    """Declare each of `tables` (folders under `lake_dir`) as the Parquet table raw.<table>
    of the Spark catalog under `spark_dir`, replacing an earlier declaration; the session is
    stopped on return."""
    with spark_session(spark_dir) as spark:
        spark.sql("create database if not exists raw")
        for table in tables:
            # the table only points at the files: dropping it leaves them where they are
            spark.sql(f"drop table if exists raw.`{table}`")
            location = (lake_dir / table).resolve()
            spark.sql(f"create table raw.`{table}` using parquet location '{location}'")
