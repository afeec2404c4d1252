"""Sensors that raise alerts: late deliveries, and failed runs started by the daemon."""

import json
from datetime import datetime
from pathlib import Path

import dagster as dg

from pipelines.defs.operations.freshness import late_deliveries
from pipelines.defs.operations.notify import notify
from pipelines.resources import CrmResource

FRESHNESS_SENSOR = "delivery_freshness_sensor"


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
