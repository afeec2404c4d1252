"""Transform: the dbt models (staging, intermediate, marts), with their dbt tests as checks.
The GX suites of the marts a domain publishes are in that domain's checks."""

import dagster as dg

from pipelines.defs.transform.assets import crm_dbt_models

defs = dg.Definitions(assets=[crm_dbt_models])
