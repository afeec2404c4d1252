"""Credit: ratings and limits, flags and actions, the company's exposure."""

import dagster as dg

from pipelines.defs.credit.assets import credit_flags, credit_ratings
from pipelines.defs.credit.checks import CHECKS

defs = dg.Definitions(assets=[credit_ratings, credit_flags], asset_checks=CHECKS)
