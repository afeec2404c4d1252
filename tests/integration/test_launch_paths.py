"""Runs Dagster launches itself (the schedule, the sensors, the UI) use the job's own
executor, not `execute_in_process`: they must publish what the CLI publishes, without a
fight over the working database."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.config import load_config
from pipelines.demo.generator import DemoSpec, generate
from pipelines.runner import instance_for
from pipelines.settings import PROJECT_ROOT, apply_environment
from tests.support.jobs import daily_job

pytestmark = pytest.mark.slow

SPEC = DemoSpec(customers=30, days=90, end_date=date(2026, 3, 31), seed=21)
PUBLISHED = ("customer_facts", "customer_tiers", "credit_flags")


def _environment(mp: pytest.MonkeyPatch, root: Path) -> None:
    mp.setenv("CRM_LANDING_DIR", str(root / "landing"))
    mp.setenv("CRM_WAREHOUSE_PATH", str(root / "warehouse" / "crm.duckdb"))
    mp.setenv("CRM_CONFIG_PATH", str(PROJECT_ROOT / "config" / "crm.yaml"))
    mp.setenv("CRM_HEADER_MAP_PATH", str(PROJECT_ROOT / "config" / "header_map.yaml"))
    mp.setenv("CRM_EXPECTATIONS_DIR", str(PROJECT_ROOT / "expectations"))
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    mp.setenv("CRM_WORK_DB", "")


def _published(warehouse: Path, as_of: str) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            table: con.execute(
                f"select * from reporting.{table} where as_of_date = ? order by customer_id",
                [as_of],
            ).fetchall()
            for table in PUBLISHED
        }


def test_a_scheduled_run_on_the_jobs_executor_publishes_what_the_cli_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    scheduled, cli = tmp_path / "scheduled", tmp_path / "cli"
    generate(scheduled / "landing", SPEC)
    shutil.copytree(scheduled / "landing", cli / "landing")

    _environment(monkeypatch, scheduled)
    settings = apply_environment()
    from pipelines.definitions import defs

    schedule = defs.resolve_schedule_def("daily_pipeline_schedule")

    with instance_for(settings) as instance:
        # what the daemon's scheduler asks for at 06:00, run the way its run worker runs it
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2026, 4, 1, 6, 0)
        )
        (request,) = schedule.evaluate_tick(context).run_requests
        as_of = request.partition_key
        result = dg.execute_job(
            dg.reconstructable(daily_job),
            instance=instance,
            run_config=request.run_config,
            tags={**request.tags, "dagster/partition": as_of},
        )
        events = instance.all_logs(result.run_id)
        queue = instance.get_concurrency_config().run_queue_config
    assert result.success
    kinds = {e.dagster_event.event_type for e in events if e.dagster_event}
    assert dg.DagsterEventType.STEP_RESTARTED not in kinds  # no step was retried
    assert dg.DagsterEventType.STEP_FAILURE not in kinds
    assert not [e for e in events if "lock" in (e.message or "").lower()]
    assert queue.max_concurrent_runs == 1  # the backfill's runs wait for one another

    _environment(monkeypatch, cli)
    cli_settings = apply_environment()
    outcome = CliRunner().invoke(main, ["run", "--as-of", as_of])
    assert outcome.exit_code == 0, outcome.output
    assert _published(settings.warehouse_path, as_of) == _published(
        cli_settings.warehouse_path, as_of
    )
    # what is published, as `crm-pipeline status` tells it
    status = CliRunner().invoke(main, ["status"])
    assert status.exit_code == 0, status.output
    ((run_id, checks, failed),) = (
        duckdb.connect(str(cli_settings.warehouse_path), read_only=True)
        .execute(
            "select p.run_id, count(*), count(*) filter (not passed) from reporting.publication p "
            "join reporting.data_quality_results r using (run_id) group by all"
        )
        .fetchall()
    )
    assert f"newest as-of    {as_of}, published at " in status.output
    assert "last run" not in status.output  # the newest date's run is the last one
    assert f"run             {run_id}\n" in status.output
    version = load_config(cli_settings.config_path).version
    assert f"configuration   {version}\n" in status.output
    assert f"as-of dates     1 ({as_of} .. {as_of})\n" in status.output
    assert f"checks          {checks} run, {failed} failed" in status.output
