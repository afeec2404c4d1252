"""Keys of the credit assets, importable by every domain without a cycle."""

import dagster as dg

CREDIT_RATINGS = dg.AssetKey(["scoring", "credit_ratings"])
CREDIT_SCORECARD = dg.AssetKey(["scoring", "credit_scorecard"])
CREDIT_FLAGS = dg.AssetKey(["scoring", "credit_flags"])
CREDIT_FLAG_CHANGES = dg.AssetKey(["scoring", "credit_flag_changes"])
CREDIT_COMPANY_VIEW = dg.AssetKey(["scoring", "credit_company_view"])
CREDIT_WATCH_LIST = dg.AssetKey(["scoring", "credit_watch_list"])
