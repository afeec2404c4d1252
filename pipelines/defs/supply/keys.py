"""Keys of the supply assets."""

import dagster as dg

SUPPLY_COVER = dg.AssetKey(["scoring", "supply_cover"])
KEY_ACCOUNT_SUPPLY_RISK = dg.AssetKey(["scoring", "key_account_supply_risk"])
