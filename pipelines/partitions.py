"""The business-date partitions every daily asset shares: one partition per as-of date."""

import warnings

import dagster as dg

# Checks partitioned like their assets (preview) and per-asset backfill policies (beta) are
# Dagster features we rely on knowingly.
warnings.filterwarnings(
    "ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec.*"
)
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")

# end_offset=1 makes today's date a valid as-of date.
as_of_partitions = dg.DailyPartitionsDefinition(start_date="2020-01-01", end_offset=1)

# Each as-of date is computed by its own run (windows are relative to it).
one_date_per_run = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)
