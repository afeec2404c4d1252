"""Order-independent history: published dates that follow a date published after them.

What a run derives from the as-of dates before its own (tier migrations, flags raised and
cleared, flagged_since and action_since, the stepped credit limit) reads what those dates
held when it ran. A run for an earlier date published later (a backfill behind the newest
date, a correction of an old delivery) leaves every later published date resting on the
earlier state: those dates are run again, oldest first, until each published date was
computed after every date before it. The published state is then the same whatever order
the dates were run in. `crm-pipeline run` and `backfill` do it after their own dates; in
Dagster the `later_dates_sensor` (sensors.py) requests the runs.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path


def publications(warehouse: Path) -> list[tuple[date, datetime]]:
    """Each published as-of date and when it was last published, oldest date first."""
    import duckdb

    if not warehouse.exists():
        return []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if not con.execute(
            "select count(*) from duckdb_tables() "
            "where schema_name = 'reporting' and table_name = 'publication_history'"
        ).fetchone()[0]:
            return []
        return con.execute(
            "select as_of_date, max(published_at) from reporting.publication_history "
            "group by as_of_date order by as_of_date"
        ).fetchall()


def dates_to_recompute(warehouse: Path) -> list[date]:
    """Published as-of dates, oldest first, from the first one that an earlier date was
    published after (each run again makes the next one stale, so all that follow too).
    Empty when the published history is in order, or nothing is published."""
    published = publications(warehouse)
    latest_before = None  # the latest publication of any earlier date
    for index, (_, published_at) in enumerate(published):
        if latest_before is not None and latest_before > published_at:
            return [d for d, _ in published[index:]]
        latest_before = max(latest_before or published_at, published_at)
    return []
