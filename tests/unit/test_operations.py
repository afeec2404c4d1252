"""Late deliveries and alerts (operations), on hand-made landing folders."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pytest

from pipelines.config import OperationsConfig
from pipelines.defs.operations import sensors
from pipelines.defs.operations.freshness import late_deliveries
from pipelines.defs.operations.notify import notify
from pipelines.resources import CrmResource
from pipelines.settings import PROJECT_ROOT
from tests.support.webhook import webhook

CFG = OperationsConfig(
    expected_daily={"sales": "07:00", "payments": "07:30"},
    lookback_days=3,
    max_retries=0,
    retry_delay_seconds=0,
)


def _land(root: Path, extract: str, day: str) -> None:
    (root / extract).mkdir(parents=True, exist_ok=True)
    (root / extract / f"{extract}_{day}.csv").write_text("header\n")


def test_a_delivery_is_late_once_its_deadline_has_passed(tmp_path: Path):
    for day in ("20261121", "20261122"):
        _land(tmp_path, "sales", day)
        _land(tmp_path, "payments", day)
    _land(tmp_path, "payments", "20261123")
    # 24 Nov 06:59: nothing of 23 Nov is due yet
    assert late_deliveries(tmp_path, datetime(2026, 11, 24, 6, 59), CFG) == []
    # 07:00: sales of 23 Nov are due and missing; payments landed anyway
    late = late_deliveries(tmp_path, datetime(2026, 11, 24, 7, 0), CFG)
    assert [(d.extract, d.business_date, d.deadline) for d in late] == [
        ("sales", date(2026, 11, 23), datetime(2026, 11, 24, 7, 0))
    ]
    # 25 Nov 08:00: 23 and 24 Nov sales, and 24 Nov payments
    late = late_deliveries(tmp_path, datetime(2026, 11, 25, 8, 0), CFG)
    assert [d.key for d in late] == ["sales/20261123", "payments/20261124", "sales/20261124"]
    assert late[0].expected_file == "sales/sales_20261123.csv"


def test_the_freshness_sensor_alerts_each_late_delivery_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    landing = tmp_path / "landing"
    for day in ("20261121", "20261122", "20261123"):
        _land(landing, "sales", day)
        _land(landing, "payments", day)
    monkeypatch.setenv("CRM_ALERT_LOG", str(tmp_path / "alerts.log"))
    crm = CrmResource(
        landing_dir=str(landing),
        warehouse_path=str(tmp_path / "warehouse" / "crm.duckdb"),
        config_path=str(PROJECT_ROOT / "config" / "crm.yaml"),
        header_map_path=str(PROJECT_ROOT / "config" / "header_map.yaml"),
        expectations_dir=str(PROJECT_ROOT / "expectations"),
    )

    def evaluate(now: datetime, cursor: str | None):
        monkeypatch.setattr(sensors, "_now", lambda: now)
        with dg.build_sensor_context(cursor=cursor, resources={"crm": crm}) as context:
            result = sensors.delivery_freshness_sensor(context)
            return result, context.cursor

    with webhook() as (url, received):
        monkeypatch.setenv("CRM_ALERT_WEBHOOK_URL", url)
        result, cursor = evaluate(datetime(2026, 11, 24, 6, 0), None)
        assert "all due deliveries landed" in result.skip_message and received == []
        # config/crm.yaml: sales and payments due by 07:00 the next day
        result, cursor = evaluate(datetime(2026, 11, 25, 7, 10), cursor)
        assert [a["expected_file"] for a in received] == [
            "payments/payments_20261124.csv",
            "sales/sales_20261124.csv",
        ]
        result, cursor = evaluate(datetime(2026, 11, 25, 9, 0), cursor)  # nothing new
        assert "all alerted before" in result.skip_message and len(received) == 2
        result, cursor = evaluate(datetime(2026, 11, 26, 7, 0), cursor)  # the 25th's too
        assert [a["business_date"] for a in received[2:]] == ["2026-11-25", "2026-11-25"]
    logged = [json.loads(line) for line in (tmp_path / "alerts.log").read_text().splitlines()]
    assert [a["kind"] for a in logged] == ["delivery_late"] * 4
    assert all(a["webhook"] == "sent" for a in logged)
    assert logged[1]["summary"] == (
        "sales/sales_20261124.csv has not landed; it was due by 2026-11-25 07:00"
    )


def test_an_unreachable_webhook_never_fails_the_alert(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CRM_ALERT_LOG", str(tmp_path / "alerts.log"))
    monkeypatch.setenv("CRM_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/nothing-listens-here")
    alert = notify("run_failed", "boom", run_id="r1")
    assert alert["webhook"].startswith("not sent")
    assert json.loads((tmp_path / "alerts.log").read_text())["run_id"] == "r1"


def test_the_dbt_resource_overrides_what_dagster_dbt_still_calls():
    """CrmDbtCliResource skips dagster-dbt's `dbt --version` subprocess and its unused
    in-process adapter; if an upgrade renamed either, the override would silently stop
    working, so both names must still exist upstream and ours must answer without dbt."""
    import importlib.metadata

    from dagster_dbt import DbtCliResource

    from pipelines.defs.transform.assets import CrmDbtCliResource
    from pipelines.settings import DBT_PROJECT_DIR, dbt_executable

    assert "_cli_version" in vars(DbtCliResource)
    assert "_initialize_dbt_core_adapter" in vars(DbtCliResource)
    resource = CrmDbtCliResource(project_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable())
    assert str(resource._cli_version) == importlib.metadata.version("dbt-core")
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_only_the_newest_dbt_target_folders_are_kept(tmp_path: Path):
    import os

    from pipelines.defs.transform.assets import prune_dbt_targets

    for age in range(5):
        folder = tmp_path / f"crm_dbt_models-run{age}"
        folder.mkdir()
        (folder / "manifest.json").write_text("{}")
        os.utime(folder, (1_000_000 - age, 1_000_000 - age))  # run0 is the newest
    (tmp_path / "partial_parse.msgpack").write_text("")  # the project's own: never touched
    doomed = prune_dbt_targets(tmp_path, keep=2)
    assert sorted(p.name for p in doomed) == [f"crm_dbt_models-run{i}" for i in (2, 3, 4)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "crm_dbt_models-run0",
        "crm_dbt_models-run1",
        "partial_parse.msgpack",
    ]
