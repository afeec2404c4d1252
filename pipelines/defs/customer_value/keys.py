"""Keys of the customer-value assets, importable by every domain without a cycle."""

import dagster as dg

CUSTOMER_TIERS = dg.AssetKey(["scoring", "customer_tiers"])
TIER_MIGRATIONS = dg.AssetKey(["scoring", "tier_migrations"])
CUSTOMER_COMPOSITION = dg.AssetKey(["scoring", "customer_composition"])
