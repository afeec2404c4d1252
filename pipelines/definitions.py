"""The one Definitions object: ingestion -> dbt -> scoring -> quality -> publishing."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from pipelines.config import load_config
from pipelines.defs.ingestion.assets import raw_extracts
from pipelines.defs.ingestion.sensors import landing_sensor
from pipelines.defs.operations.later_dates import later_dates_sensor_for
from pipelines.defs.operations.sensors import delivery_freshness_sensor, run_failure_alert
from pipelines.defs.publishing.assets import published_warehouse
from pipelines.defs.scoring_assets import (
    credit_flags,
    credit_ratings,
    customer_tiers,
    key_account_supply_cover,
    prospect_grades,
)
from pipelines.defs.transform.assets import CrmDbtCliResource, crm_dbt_models, dbt_project
from pipelines.quality.checks import (
    GX_MORE_TABLES,
    RAW_EXTRACT_CHECKS,
    gx_credit_flags,
    gx_customer_facts,
    gx_customer_tiers,
    gx_product_performance,
    gx_supply_cover,
    reconcile_ar,
    reconcile_net_sales,
)
from pipelines.resources import crm_resource_from_env
from pipelines.settings import apply_environment, dbt_executable

apply_environment()  # defaults for every CRM_* variable the resources and dbt read

DAILY_JOB = "daily_pipeline"

_operations = load_config(Path(os.environ["CRM_CONFIG_PATH"])).operations
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

defs = dg.Definitions(
    assets=[
        raw_extracts,
        crm_dbt_models,
        credit_ratings,
        customer_tiers,
        credit_flags,
        prospect_grades,
        key_account_supply_cover,
        published_warehouse,
    ],
    asset_checks=[
        *RAW_EXTRACT_CHECKS,
        *GX_MORE_TABLES,
        gx_customer_facts,
        gx_customer_tiers,
        gx_product_performance,
        gx_credit_flags,
        gx_supply_cover,
        reconcile_net_sales,
        reconcile_ar,
    ],
    jobs=[daily_pipeline],
    schedules=[daily_schedule],
    sensors=[
        landing_sensor,
        later_dates_sensor_for(DAILY_JOB),
        delivery_freshness_sensor,
        run_failure_alert,
    ],
    resources={
        "crm": crm_resource_from_env(),
        "dbt": CrmDbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    },
)
