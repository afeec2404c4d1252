"""Sensors that raise alerts: late deliveries, and failed runs started by the daemon."""

import json
from datetime import datetime
from pathlib import Path

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus

from pipelines.defs.operations.freshness import late_deliveries
from pipelines.defs.operations.later_dates import dates_to_recompute, publications
from pipelines.defs.operations.notify import notify
from pipelines.resources import CrmResource

FRESHNESS_SENSOR = "delivery_freshness_sensor"
LATER_DATES_SENSOR = "later_dates_sensor"


def _now() -> datetime:
    """The local time the deadlines are compared with (one place, for tests to set)."""
    return datetime.now()


CLI_TRIGGER = ("crm/trigger", "cli")


@dg.sensor(
    name=FRESHNESS_SENSOR,
    minimum_interval_seconds=15 * 60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Alert (log and webhook) once per extract and business date whose daily "
    "file has not landed by the deadline in config/crm.yaml (operations.expected_daily).",
)
def delivery_freshness_sensor(context: dg.SensorEvaluationContext, crm: CrmResource):
    cfg = crm.config().operations
    alerted = set(json.loads(context.cursor)) if context.cursor else set()
    late = late_deliveries(Path(crm.landing_dir), _now(), cfg)
    new = [d for d in late if d.key not in alerted]
    for delivery in new:
        notify(
            "delivery_late",
            f"{delivery.expected_file} has not landed; it was due by {delivery.deadline:%Y-%m-%d %H:%M}",
            extract=delivery.extract,
            business_date=delivery.business_date.isoformat(),
            expected_file=delivery.expected_file,
            landing_dir=str(crm.landing_dir),
        )
    # every late delivery is alerted now; what left the look-back window is forgotten
    context.update_cursor(json.dumps(sorted(d.key for d in late)))
    if new:
        return dg.SkipReason(f"alerted {len(new)} late deliveries: {[d.key for d in new]}")
    return dg.SkipReason(
        f"{len(late)} late deliveries, all alerted before" if late else "all due deliveries landed"
    )


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Alert (log and webhook) when a run started by the schedule, a sensor or "
    "the UI fails; `crm-pipeline` alerts for its own runs.",
)
def run_failure_alert(context: dg.RunFailureSensorContext):
    run = context.dagster_run
    if run.tags.get(CLI_TRIGGER[0]) == CLI_TRIGGER[1]:
        return
    notify(
        "run_failed",
        f"run {run.run_id} of {run.job_name} failed: {context.failure_event.message}",
        run_id=run.run_id,
        job=run.job_name,
        partition=run.tags.get("dagster/partition"),
    )


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
        newest = max(published_at for _, published_at in publications(warehouse))
        first = stale[0].isoformat()
        return dg.RunRequest(
            partition_key=first,
            # once per date and published state: a run that fails is not requested again
            # until something else is published
            run_key=f"{first}@{newest.isoformat()}",
            tags={"crm/trigger": "later_dates", "crm/dates_to_recompute": str(len(stale))},
        )

    return later_dates_sensor
