"""Supply: stock cover of key accounts and the accounts at risk."""

import dagster as dg

from pipelines.defs.supply.assets import key_account_supply_cover
from pipelines.defs.supply.checks import CHECKS

defs = dg.Definitions(assets=[key_account_supply_cover], asset_checks=CHECKS)
