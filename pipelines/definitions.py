"""The one Definitions object: each domain's definitions (pipelines/defs/<domain>/), merged,
with the resources they share."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.credit.definitions import defs as credit
from pipelines.defs.customer_value.definitions import defs as customer_value
from pipelines.defs.ingestion.definitions import defs as ingestion
from pipelines.defs.operations.definitions import defs as operations
from pipelines.defs.operations.schedules import DAILY_JOB
from pipelines.defs.prospects.definitions import defs as prospects
from pipelines.defs.publishing.definitions import defs as publishing
from pipelines.defs.supply.definitions import defs as supply
from pipelines.defs.transform.assets import CrmDbtCliResource, dbt_project
from pipelines.defs.transform.definitions import defs as transform
from pipelines.resources import crm_resource_from_env
from pipelines.settings import apply_environment, dbt_executable

__all__ = ["DAILY_JOB", "defs"]

apply_environment()  # defaults for every CRM_* variable the resources and dbt read

defs = dg.Definitions.merge(
    ingestion,
    transform,
    customer_value,
    credit,
    supply,
    prospects,
    publishing,
    operations,
    dg.Definitions(
        resources={
            "crm": crm_resource_from_env(),
            "dbt": CrmDbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
        }
    ),
)
