"""Which published dates must run again, and where the partitions start."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.defs.operations.later_dates import dates_to_recompute
from pipelines.defs.operations.sensors import LATER_DATES_SENSOR
from pipelines.defs.partitions import first_as_of_date
from pipelines.resources import CrmResource
from pipelines.settings import PROJECT_ROOT


def _published(warehouse: Path, publications: list[tuple[str, str]]) -> None:
    """A warehouse whose history holds these (as-of date, published at) publications."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema reporting")
        con.execute(
            "create table reporting.publication_history (run_id varchar, as_of_date date, "
            "published_at timestamp, config_version varchar, history_file varchar)"
        )
        for i, (as_of, at) in enumerate(publications):
            con.execute(
                "insert into reporting.publication_history values (?, ?, ?, 'v', null)",
                [f"run-{i}", as_of, at],
            )


@pytest.mark.parametrize(
    ("publications", "stale"),
    [
        ([], []),
        ([("2026-03-30", "2026-04-01 06:00"), ("2026-03-31", "2026-04-01 07:00")], []),
        # 03-31 first, then 03-30: 03-31 rests on a state without 03-30
        (
            [("2026-03-31", "2026-04-01 06:00"), ("2026-03-30", "2026-04-01 07:00")],
            [date(2026, 3, 31)],
        ),
        # a backfill of 03-29 behind 03-30 and 03-31: both run again
        (
            [
                ("2026-03-30", "2026-04-01 06:00"),
                ("2026-03-31", "2026-04-01 07:00"),
                ("2026-03-29", "2026-04-01 08:00"),
            ],
            [date(2026, 3, 30), date(2026, 3, 31)],
        ),
        # 03-31 published again after 03-29 was: in order, whatever came before
        (
            [
                ("2026-03-31", "2026-04-01 06:00"),
                ("2026-03-29", "2026-04-01 07:00"),
                ("2026-03-31", "2026-04-01 08:00"),
            ],
            [],
        ),
        # an earlier date's later publication counts, not its first
        (
            [
                ("2026-03-29", "2026-04-01 06:00"),
                ("2026-03-31", "2026-04-01 07:00"),
                ("2026-03-29", "2026-04-01 08:00"),
                ("2026-03-30", "2026-04-01 09:00"),
            ],
            [date(2026, 3, 31)],
        ),
    ],
)
def test_dates_to_recompute(tmp_path: Path, publications, stale):
    warehouse = tmp_path / "crm.duckdb"
    _published(warehouse, publications)
    assert dates_to_recompute(warehouse) == stale


def test_nothing_published_nothing_to_recompute(tmp_path: Path):
    assert dates_to_recompute(tmp_path / "absent.duckdb") == []


def _resource(warehouse: Path) -> CrmResource:
    return CrmResource(
        landing_dir=str(warehouse.parent / "landing"),
        warehouse_path=str(warehouse),
        config_path=str(PROJECT_ROOT / "config" / "crm.yaml"),
        header_map_path=str(PROJECT_ROOT / "config" / "header_map.yaml"),
        expectations_dir=str(PROJECT_ROOT / "expectations"),
    )


def test_the_later_dates_sensor_requests_the_oldest_stale_date_once(tmp_path: Path):
    warehouse = tmp_path / "crm.duckdb"
    _published(
        warehouse,
        [
            ("2026-03-30", "2026-04-01 06:00"),
            ("2026-03-31", "2026-04-01 07:00"),
            ("2026-03-29", "2026-04-01 08:00"),
        ],
    )
    from pipelines.definitions import defs

    sensor = defs.resolve_sensor_def(LATER_DATES_SENSOR)
    resources = {"crm": _resource(warehouse)}
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(
            instance=instance, resources=resources, definitions=defs
        ) as context:
            (request,) = sensor.evaluate_tick(context).run_requests
        assert request.partition_key == "2026-03-30"
        assert request.run_key == "2026-03-30@2026-04-01T08:00:00"
        assert request.tags["crm/dates_to_recompute"] == "2"
    in_order = tmp_path / "in_order.duckdb"
    _published(in_order, [("2026-03-30", "2026-04-01 06:00")])
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(
            instance=instance, resources={"crm": _resource(in_order)}, definitions=defs
        ) as context:
            result = sensor.evaluate_tick(context)
        assert result.run_requests == []
        assert "every published date" in result.skip_message


def _config_with_first_date(tmp_path: Path, value: str) -> Path:
    text = (PROJECT_ROOT / "config" / "crm.yaml").read_text("utf-8")
    assert "  first_as_of_date:\n" in text
    path = tmp_path / "crm.yaml"
    path.write_text(text.replace("  first_as_of_date:\n", f"  first_as_of_date: {value}\n"))
    return path


def test_the_partitions_start_where_the_configuration_or_the_landed_data_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    landing = tmp_path / "landing"
    (landing / "sales").mkdir(parents=True)
    monkeypatch.delenv("CRM_FIRST_AS_OF_DATE")
    monkeypatch.setenv("CRM_LANDING_DIR", str(landing))
    monkeypatch.setenv("CRM_CONFIG_PATH", str(PROJECT_ROOT / "config" / "crm.yaml"))
    today = date(2026, 12, 2)
    assert first_as_of_date(today) == (today, "today: no sales file has landed")
    for name in ("sales_19980131.csv", "sales_19970101.csv", "sales_19961301.csv"):
        (landing / "sales" / name).write_text("")
    (landing / "sales" / "sales_19950101 (1).csv").write_text("")  # not a delivery
    (landing / "sales" / "sales_19940101.csv").mkdir()  # a folder is not a delivery
    assert first_as_of_date(today) == (date(1997, 1, 1), "the oldest sales file landed")
    monkeypatch.setenv("CRM_CONFIG_PATH", str(_config_with_first_date(tmp_path, "2025-06-01")))
    assert first_as_of_date(today) == (date(2025, 6, 1), "publishing.first_as_of_date")
    monkeypatch.setenv("CRM_FIRST_AS_OF_DATE", "2001-02-03")
    assert first_as_of_date(today) == (date(2001, 2, 3), "CRM_FIRST_AS_OF_DATE")
    monkeypatch.setenv("CRM_FIRST_AS_OF_DATE", "2027-01-01")
    assert first_as_of_date(today) == (today, "CRM_FIRST_AS_OF_DATE")  # never after today


def test_the_tests_partitions_start_where_conftest_pins_them():
    from pipelines.defs.partitions import FIRST_AS_OF_DATE, FIRST_AS_OF_SOURCE, as_of_partitions

    assert (FIRST_AS_OF_DATE, FIRST_AS_OF_SOURCE) == (date(2000, 1, 1), "CRM_FIRST_AS_OF_DATE")
    assert as_of_partitions.start.date() == date(2000, 1, 1)
