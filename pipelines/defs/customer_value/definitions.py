"""Customer value: tiers, migrations and the composition of the customer base."""

import dagster as dg

from pipelines.defs.customer_value.assets import customer_tiers
from pipelines.defs.customer_value.checks import CHECKS

defs = dg.Definitions(assets=[customer_tiers], asset_checks=CHECKS)
