"""Operations: the daily job and schedule, the re-run of later dates, late deliveries and
failure alerts."""

import dagster as dg

from pipelines.defs.operations.schedules import DAILY_JOB, daily_pipeline, daily_schedule
from pipelines.defs.operations.sensors import (
    delivery_freshness_sensor,
    later_dates_sensor_for,
    run_failure_alert,
)

defs = dg.Definitions(
    jobs=[daily_pipeline],
    schedules=[daily_schedule],
    sensors=[later_dates_sensor_for(DAILY_JOB), delivery_freshness_sensor, run_failure_alert],
)
