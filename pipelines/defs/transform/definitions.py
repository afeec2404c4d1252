"""Transform: the dbt models (staging, intermediate, marts) and their tests."""

import dagster as dg

from pipelines.defs.transform.assets import crm_dbt_models
from pipelines.defs.transform.checks import CHECKS

defs = dg.Definitions(assets=[crm_dbt_models], asset_checks=CHECKS)
