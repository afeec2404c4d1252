"""The daily job and its schedule: one as-of date per run, every asset of the graph."""

import dagster as dg

from pipelines.config import load_config
from pipelines.settings import environment_path

DAILY_JOB = "daily_pipeline"

_operations = load_config(environment_path("CRM_CONFIG_PATH")).operations
daily_pipeline = dg.define_asset_job(
    name=DAILY_JOB,
    selection=dg.AssetSelection.all(),
    description="Ingest what is new, build facts, score, validate and publish one as-of date.",
    # every step writes the one working DuckDB file, which one process at a time may open:
    # the schedule, the sensors and the UI run the steps in one process, one after the other,
    # as the CLI does (Dagster's default multiprocess executor would make them fight over it)
    executor_def=dg.in_process_executor,
    # transient failures are retried; bad data fails at once (dg.Failure, allow_retries=False)
    op_retry_policy=dg.RetryPolicy(
        max_retries=_operations.max_retries,
        delay=_operations.retry_delay_seconds,
        backoff=dg.Backoff.EXPONENTIAL,
    ),
)

daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_pipeline,
    hour_of_day=6,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
