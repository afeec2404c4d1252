"""Keys of the prospect assets."""

import dagster as dg

PROSPECT_GRADES = dg.AssetKey(["scoring", "prospect_grades"])
