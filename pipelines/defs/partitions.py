"""The business-date partitions every daily asset shares: one partition per as-of date.

They start at the first as-of date there can be (`first_as_of_date`) and end today. The
start is read when the definitions are loaded: after landing history older than the
partitions, reload the code location (`make ui` does at start) to see its dates.
"""

import warnings
from datetime import date

import dagster as dg

from pipelines.config import load_config
from pipelines.defs.ingestion.landing import landed_dates
from pipelines.settings import (
    FIRST_AS_OF_DATE_ENV,
    environment_path,
    first_as_of_date_override,
)

# Checks partitioned like their assets (preview) and per-asset backfill policies (beta) are
# Dagster features we rely on knowingly.
warnings.filterwarnings(
    "ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec.*"
)
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")


def first_as_of_date(today: date | None = None) -> tuple[date, str]:
    """Where the partitions start, and why: CRM_FIRST_AS_OF_DATE, else the configuration's
    `publishing.first_as_of_date`, else the business date of the oldest sales file landed
    (an earlier as-of date has no sales to compute from), else today. Never after today."""
    today = today or date.today()
    first, source = today, "today: no sales file has landed"
    override = first_as_of_date_override()
    if override is not None:
        first, source = override, FIRST_AS_OF_DATE_ENV
    else:
        try:
            configured = load_config(environment_path("CRM_CONFIG_PATH")).publishing
        except ValueError:  # an invalid configuration is reported by the run that reads it
            configured = None
        landed = landed_dates(environment_path("CRM_LANDING_DIR"), "sales")
        if configured is not None and configured.first_as_of_date is not None:
            first, source = configured.first_as_of_date, "publishing.first_as_of_date"
        elif landed:
            first, source = landed[0], "the oldest sales file landed"
    return min(first, today), source


FIRST_AS_OF_DATE, FIRST_AS_OF_SOURCE = first_as_of_date()
# end_offset=1 makes today's date a valid as-of date.
as_of_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_AS_OF_DATE.isoformat(), end_offset=1
)

# Each as-of date is computed by its own run (windows are relative to it).
one_date_per_run = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)


def as_of_date(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext | dg.OpExecutionContext,
) -> date:
    """The as-of date a step computes: its partition, as a date."""
    return date.fromisoformat(context.partition_key)
