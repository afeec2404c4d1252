"""Order-independent history: published dates that follow a date published after them.

What a run derives from the as-of dates before its own (tier migrations, flags raised and
cleared, flagged_since and action_since, the stepped credit limit) reads what those dates
held when it ran. A run for an earlier date published later (a backfill behind the newest
date, a correction of an old delivery) leaves every later published date resting on the
earlier state: those dates are run again, oldest first, until each published date was
computed after every date before it. The published state is then the same whatever order
the dates were run in. `crm-pipeline run` and `backfill` do it after their own dates; in
Dagster the `later_dates_sensor` requests the runs.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus

from pipelines.resources import CrmResource

LATER_DATES_SENSOR = "later_dates_sensor"


def _publications(warehouse: Path) -> list[tuple[date, datetime]]:
    """Each published as-of date and when it was last published, oldest date first."""
    import duckdb

    if not warehouse.exists():
        return []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if not con.execute(
            "select count(*) from duckdb_tables() "
            "where schema_name = 'reporting' and table_name = 'publication_history'"
        ).fetchone()[0]:
            return []
        return con.execute(
            "select as_of_date, max(published_at) from reporting.publication_history "
            "group by as_of_date order by as_of_date"
        ).fetchall()


def dates_to_recompute(warehouse: Path) -> list[date]:
    """Published as-of dates, oldest first, from the first one that an earlier date was
    published after (each run again makes the next one stale, so all that follow too).
    Empty when the published history is in order, or nothing is published."""
    published = _publications(warehouse)
    latest_before = None  # the latest publication of any earlier date
    for index, (_, published_at) in enumerate(published):
        if latest_before is not None and latest_before > published_at:
            return [d for d, _ in published[index:]]
        latest_before = max(latest_before or published_at, published_at)
    return []


_ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def later_dates_sensor_for(job_name: str) -> dg.SensorDefinition:
    """The sensor that runs again, one at a time and oldest first, each published date
    that rests on an earlier date published after it."""

    @dg.sensor(
        name=LATER_DATES_SENSOR,
        job_name=job_name,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After a backfill or a correction of an earlier as-of date, runs every "
        "later published date again, oldest first, so that migrations, flag changes, "
        "since-dates and stepped limits are the same whatever order the dates were run in.",
    )
    def later_dates_sensor(context: dg.SensorEvaluationContext, crm: CrmResource):
        busy = context.instance.get_runs(
            filters=dg.RunsFilter(job_name=job_name, statuses=_ACTIVE), limit=1
        )
        if busy:
            return dg.SkipReason(f"run {busy[0].run_id} is queued or in progress")
        # a backfill runs its own dates first: the later ones are run again once, after it
        backfills = context.instance.get_backfills(status=BulkActionStatus.REQUESTED, limit=1)
        if backfills:
            return dg.SkipReason(f"backfill {backfills[0].backfill_id} is in progress")
        warehouse = Path(crm.warehouse_path)
        stale = dates_to_recompute(warehouse)
        if not stale:
            return dg.SkipReason("every published date was computed after the dates before it")
        newest = max(published_at for _, published_at in _publications(warehouse))
        first = stale[0].isoformat()
        return dg.RunRequest(
            partition_key=first,
            # once per date and published state: a run that fails is not requested again
            # until something else is published
            run_key=f"{first}@{newest.isoformat()}",
            tags={"crm/trigger": "later_dates", "crm/dates_to_recompute": str(len(stale))},
        )

    return later_dates_sensor
