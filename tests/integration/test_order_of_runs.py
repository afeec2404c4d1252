"""What is published does not depend on the order the as-of dates were run in: a date run
after a later one makes the later one run again (operations.later_dates)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.defs.operations.later_dates import dates_to_recompute
from pipelines.defs.publishing.publish import PUBLISHED_TABLES
from pipelines.demo.generator import DemoSpec, generate
from pipelines.settings import PROJECT_ROOT, apply_environment

pytestmark = pytest.mark.slow

EARLIER, LATER = date(2026, 3, 30), date(2026, 3, 31)
SPEC = DemoSpec(customers=40, days=90, end_date=LATER, seed=5)
# the audit trail names runs and times: the same facts, published by other runs
AUDIT = {"data_quality_results", "delivery_manifest", "rejected_rows"}


def _environment(mp: pytest.MonkeyPatch, root: Path) -> None:
    mp.setenv("CRM_LANDING_DIR", str(root / "landing"))
    mp.setenv("CRM_WAREHOUSE_PATH", str(root / "warehouse" / "crm.duckdb"))
    mp.setenv("CRM_CONFIG_PATH", str(PROJECT_ROOT / "config" / "crm.yaml"))
    mp.setenv("CRM_HEADER_MAP_PATH", str(PROJECT_ROOT / "config" / "header_map.yaml"))
    mp.setenv("CRM_EXPECTATIONS_DIR", str(PROJECT_ROOT / "expectations"))
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    mp.setenv("CRM_WORK_DB", "")


def _run(as_of: date) -> str:
    result = CliRunner().invoke(main, ["run", "--as-of", as_of.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def _published(warehouse: Path) -> dict[str, list[tuple]]:
    """Every published table, rows sorted; the audit trail without its run ids and times."""
    tables = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in PUBLISHED_TABLES:
            if table in AUDIT:
                continue
            rows = con.execute(f"select * from reporting.{table}").fetchall()
            tables[table] = sorted(rows, key=repr)
        tables["rejected_rows"] = sorted(
            con.execute("select * exclude (run_id) from reporting.rejected_rows").fetchall()
        )
        tables["delivery_manifest"] = sorted(
            con.execute(
                "select extract, file_name, file_sha256, business_date, rows_in_file "
                "from reporting.delivery_manifest"
            ).fetchall()
        )
    return tables


def _limits_stepped_from_before(warehouse: Path, as_of: date) -> int:
    """Customers whose limit on `as_of` moved from the limit of an earlier date."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select count(*) from reporting.credit_flags "
            "where as_of_date = ? and previous_credit_limit is not null",
            [as_of],
        ).fetchone()[0]


def test_dates_run_out_of_order_publish_what_dates_run_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    in_order, out_of_order = tmp_path / "in_order", tmp_path / "out_of_order"
    generate(in_order / "landing", SPEC)
    shutil.copytree(in_order / "landing", out_of_order / "landing")

    _environment(monkeypatch, in_order)
    expected_warehouse = apply_environment().warehouse_path
    _run(EARLIER)
    _run(LATER)
    expected = _published(expected_warehouse)
    # the later date's limits stepped from the earlier date's: it depends on it
    stepped = _limits_stepped_from_before(expected_warehouse, LATER)
    assert stepped > 0

    _environment(monkeypatch, out_of_order)
    warehouse = apply_environment().warehouse_path
    _run(LATER)
    assert _limits_stepped_from_before(warehouse, LATER) == 0  # nothing before it yet
    output = _run(EARLIER)
    # the later date rested on a state without the earlier one: it was run again
    assert f"{LATER}: published again" in output
    assert dates_to_recompute(warehouse) == []
    assert _limits_stepped_from_before(warehouse, LATER) == stepped
    published = _published(warehouse)
    assert published.keys() == expected.keys()
    for table, rows in expected.items():
        assert published[table] == rows, table


def test_a_history_from_any_year_loads_where_its_partitions_start(tmp_path: Path):
    """In a process of its own, as in production: the partitions start at the oldest sales
    file landed, in 1998 here; a date before it is refused in one line, before any work."""
    generate(
        tmp_path / "landing", DemoSpec(customers=30, days=60, end_date=date(1998, 3, 31), seed=7)
    )
    env = {k: v for k, v in os.environ.items() if k != "CRM_FIRST_AS_OF_DATE"}
    env |= {
        "CRM_LANDING_DIR": str(tmp_path / "landing"),
        "CRM_WAREHOUSE_PATH": str(tmp_path / "warehouse" / "crm.duckdb"),
        "CRM_CONFIG_PATH": str(PROJECT_ROOT / "config" / "crm.yaml"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "CRM_WORK_DB": "",
    }

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
        )

    first = min(p.name for p in (tmp_path / "landing" / "sales").iterdir())
    assert first == "sales_19980131.csv"
    refused = cli("run", "--as-of", "1998-01-30")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "Error: the as-of date 1998-01-30 is before 1998-01-31, where the business-date "
        "partitions start (the oldest sales file landed): land the sales history it needs, "
        "or set publishing.first_as_of_date in the configuration"
    )
    assert not (tmp_path / "dagster_home").exists()
    published = cli("run")
    assert published.returncode == 0, published.stdout + published.stderr
    assert "\npublished 1998-03-31 to " in published.stdout
    with duckdb.connect(str(tmp_path / "warehouse" / "crm.duckdb"), read_only=True) as con:
        facts = con.execute(
            "select count(*), min(first_order_date) from reporting.customer_facts"
        ).fetchone()
        assert facts[0] > 0 and facts[1] >= date(1998, 1, 31)
        assert con.execute(
            "select distinct as_of_date from reporting.customer_tiers"
        ).fetchall() == [(date(1998, 3, 31),)]
