"""The dbt project on Apache Spark (target spark_local) computes what it computes on DuckDB.

The pipeline runs on a small generated landing folder (ingestion and the DuckDB dbt build
among its steps); its raw tables go to a Parquet lake registered in a local Spark catalog
(pipelines/storage/lake.py), dbt builds the same project there with the same vars, and every
model of staging, intermediate and marts must hold the same rows on both engines: exact for
amounts, counts, strings and dates, floats to 9 decimals. An incremental Spark build after a
new day and a corrected older day must equal DuckDB's and a Spark full refresh."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.config import load_config
from pipelines.defs.transform.dbt_vars import dbt_vars
from pipelines.demo.generator import DemoSpec, generate
from pipelines.runner import run_pipeline
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT, apply_environment, dbt_executable

pytest.importorskip("pyspark", reason="the uv group `spark` is not installed")

from pipelines.storage.lake import export_raw, register_raw, spark_session  # noqa: E402

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = date(2026, 6, 30)
SPEC = DemoSpec(customers=30, days=120, end_date=AS_OF, seed=21)
JAVA_HOME = Path("/usr/lib/jvm/java-17-openjdk-amd64")
SCHEMAS = ("staging", "intermediate", "marts")
# run-time stamps and engine-specific hashes, equal only within one engine by design, and the
# AR ledger's partition column on Spark (customer_bucket, macros/ar_ledger.sql)
ENGINE_COLUMNS = {"ledger_built_at", "ledger_through", "document_hash", "customer_bucket"}


def _java_env() -> dict[str, str]:
    env = dict(os.environ)
    if "JAVA_HOME" not in env:
        if not JAVA_HOME.exists() and shutil.which("java") is None:
            pytest.skip("no Java runtime for Spark")
        if JAVA_HOME.exists():
            env["JAVA_HOME"] = str(JAVA_HOME)
    return env


def _pipeline(root: Path, as_of: date) -> Path:
    """Run the pipeline on root/landing for `as_of` (ingestion and the DuckDB dbt build among
    its steps); the working database."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRM_LANDING_DIR", str(root / "landing"))
        mp.setenv("CRM_WAREHOUSE_PATH", str(root / "warehouse" / "crm.duckdb"))
        mp.setenv("CRM_CONFIG_PATH", str(PROJECT_ROOT / "config" / "crm.yaml"))
        mp.setenv("CRM_EXPECTATIONS_DIR", str(PROJECT_ROOT / "expectations"))
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        mp.setenv("CRM_WORK_DB", "")
        settings = apply_environment()
        outcome = run_pipeline(settings, as_of, log_level="WARNING")
        assert outcome.success, outcome.errors
        return settings.work_db


def _spark_build(root: Path, work_db: Path, as_of: date, *, full_refresh: bool = False) -> None:
    """The working database's raw tables into the lake and the catalog under root/spark, then
    `dbt build --target spark_local` for `as_of` with the pipeline's vars."""
    spark_dir = root / "spark"
    register_raw(root / "lake", spark_dir, export_raw(work_db, root / "lake"))
    vars_ = dbt_vars(load_config(PROJECT_ROOT / "config" / "crm.yaml"), as_of)
    subprocess.run(
        [
            dbt_executable(),
            "build",
            "--target",
            "spark_local",
            "--vars",
            json.dumps(vars_),
            "--target-path",
            str(root / "target"),
            "--log-path",
            str(root / "logs"),
            "--quiet",
            *(["--full-refresh"] if full_refresh else []),
        ],
        cwd=DBT_PROJECT_DIR,
        env={**_java_env(), "CRM_SPARK_DIR": str(spark_dir), "CRM_WORK_DB": str(work_db)},
        check=True,
    )


def _export_models(root: Path, models: list[tuple[str, str]], dest: Path) -> Path:
    """Every model of the Spark catalog under root/spark as Parquet under dest/<schema>/<table>
    (views hold no files: each is read through Spark)."""
    with spark_session(root / "spark") as spark:
        for schema, table in models:
            spark.table(f"{schema}.{table}").write.parquet(str(dest / schema / table))
    return dest


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory):
    """(DuckDB working database, folder of the Spark models as Parquet, the models)."""
    _java_env()
    root = tmp_path_factory.mktemp("spark_engine")
    generate(root / "landing", SPEC)
    work_db = _pipeline(root, AS_OF)
    _spark_build(root, work_db, AS_OF)
    models = _models(work_db)
    return work_db, _export_models(root, models, root / "spark_models"), models


@pytest.fixture(scope="module")
def incremental(tmp_path_factory: pytest.TempPathFactory):
    """A Spark catalog built for the day before AS_OF, then incrementally for AS_OF after
    that day's files and a corrected older sales file landed, and the same catalog after a
    full refresh: (DuckDB working database, incremental models, full-refresh models,
    models)."""
    _java_env()
    root = tmp_path_factory.mktemp("spark_incremental")
    generate(root / "landing", SPEC)
    work_db = _pipeline(root, AS_OF - timedelta(days=1))
    _spark_build(root, work_db, AS_OF - timedelta(days=1))

    # a correction of a day of the month before: one line's quantity and net amount, so the
    # incremental build rebuilds an older month besides the new day's
    day_file = sorted((root / "landing" / "sales").glob("sales_202605*.csv"))[-3]
    lines = day_file.read_text("utf-8").splitlines()
    fields = lines[1].split(",")
    quantity, price, discount = int(fields[5]), float(fields[6]), float(fields[7])
    fields[5] = str(quantity + 1)
    fields[8] = f"{(quantity + 1) * price - discount:.2f}"
    day_file.write_text("\n".join([lines[0], ",".join(fields), *lines[2:]]) + "\n", "utf-8")

    work_db = _pipeline(root, AS_OF)
    _spark_build(root, work_db, AS_OF)
    models = _models(work_db)
    built = _export_models(root, models, root / "incremental_models")
    _spark_build(root, work_db, AS_OF, full_refresh=True)
    return work_db, built, _export_models(root, models, root / "full_refresh_models"), models


def _models(work_db: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(work_db), read_only=True) as con:
        return con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in {SCHEMAS} order by 1, 2"
        ).fetchall()


def _differences(
    work_db: Path,
    models: list[tuple[str, str]],
    spark: Path,
    other: Path | None = None,
    ignored: frozenset[str] = frozenset(),
) -> dict[str, tuple[int, int, int]]:
    """Per model whose rows differ: (rows on DuckDB, rows only on DuckDB, rows only on Spark),
    comparing the Spark models under `spark` with the working database's (or, given `other`,
    with the Spark models under it), in the working database's column types, without the
    `ignored` columns."""
    con = duckdb.connect(str(work_db), read_only=True)
    differences = {}
    for schema, table in models:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
        spark_relation = f"read_parquet('{spark / schema / table}/*.parquet')"
        duck_relation = (
            f'"{schema}"."{table}"'
            if other is None
            else f"read_parquet('{other / schema / table}/*.parquet')"
        )
        spark_columns = {
            row[0] for row in con.execute(f"describe select * from {spark_relation}").fetchall()
        }
        assert {name for name, _ in columns} - ENGINE_COLUMNS == spark_columns - ENGINE_COLUMNS, (
            f"{schema}.{table} columns"
        )
        compared = [(name, kind) for name, kind in columns if name not in ENGINE_COLUMNS | ignored]

        def select(relation: str, compared=compared) -> str:
            # both sides in DuckDB's types (Spark sums decimals at a smaller precision);
            # floats to 9 decimals: sums of doubles depend on the order they are added in
            items = [
                f'round(cast("{name}" as double), 9)'
                if kind in ("DOUBLE", "FLOAT")
                else f'cast("{name}" as {kind})'
                for name, kind in compared
            ]
            return f"select {', '.join(items)} from {relation}"

        duck, spark_rows = select(duck_relation), select(spark_relation)
        only_duckdb = con.execute(f"select count(*) from ({duck} except all {spark_rows})")
        only_duckdb = only_duckdb.fetchone()[0]
        only_spark = con.execute(f"select count(*) from ({spark_rows} except all {duck})")
        only_spark = only_spark.fetchone()[0]
        if only_duckdb or only_spark:
            rows = con.execute(f"select count(*) from ({duck})").fetchone()[0]
            differences[f"{schema}.{table}"] = (rows, only_duckdb, only_spark)
    con.close()
    return differences


def test_every_model_is_built_on_spark(engines):
    _, exported, models = engines
    assert len(models) > 40
    missing = [f"{s}.{t}" for s, t in models if not (exported / s / t).is_dir()]
    assert missing == []


def test_every_model_holds_the_same_rows_on_both_engines(engines):
    work_db, exported, models = engines
    assert _differences(work_db, models, exported) == {}


def test_an_incremental_spark_build_equals_duckdb_and_a_spark_full_refresh(incremental):
    work_db, built, full_refresh, models = incremental
    assert _differences(work_db, models, built) == {}
    # what a full refresh restamps: the watermarks of the compact facts (the latest load, not
    # the load each row was built after) and the as-of date each AR fingerprint was last seen
    # changing; DuckDB's full refresh restamps them the same way
    restamped = frozenset({"changes_through", "seen_as_of_date"})
    assert _differences(work_db, models, built, full_refresh, restamped) == {}
