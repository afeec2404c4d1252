"""Prospects: grades of the prospects in force."""

import dagster as dg

from pipelines.defs.prospects.assets import prospect_grades
from pipelines.defs.prospects.checks import CHECKS

defs = dg.Definitions(assets=[prospect_grades], asset_checks=CHECKS)
