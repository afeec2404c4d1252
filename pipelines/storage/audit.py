"""The audit trail of every check: audit.data_quality_results in the working database.

Results are appended per run (passed or not), so a failed run's checks are kept and
published with the next run that publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import polars as pl

from pipelines.storage.tables import ensure_table

AUDIT_TABLE = "audit.data_quality_results"
PUBLICATIONS_TABLE = "audit.publications"


@dataclass(frozen=True)
class CheckOutcome:
    """One expectation's result, as recorded in data_quality_results."""

    suite_name: str
    expectation_type: str
    column_name: str | None
    parameters: str
    severity: str
    passed: bool
    element_count: int | None
    unexpected_count: int | None
    observed_value: str | None = None

    @property
    def is_blocking_failure(self) -> bool:
        return not self.passed and self.severity == "critical"


# The audit trail's tables: name -> DuckDB type of each column.
AUDIT_COLUMNS = {
    "run_id": "varchar",
    "checked_at": "timestamp",
    "as_of_date": "date",
    "table_name": "varchar",
    "partition_key": "varchar",
    "check_source": "varchar",
    "check_name": "varchar",
    "column_name": "varchar",
    "parameters": "varchar",
    "severity": "varchar",
    "passed": "boolean",
    "element_count": "bigint",
    "unexpected_count": "bigint",
    "observed_value": "varchar",
}
PUBLICATIONS_COLUMNS = {
    "run_id": "varchar",
    "as_of_date": "date",
    "published_at": "timestamp",
    "config_version": "varchar",
    "history_file": "varchar",
}


def ensure_audit_table(con: duckdb.DuckDBPyConnection) -> None:
    ensure_table(con, AUDIT_TABLE, AUDIT_COLUMNS)
    ensure_table(con, PUBLICATIONS_TABLE, PUBLICATIONS_COLUMNS)


def record_publication(con: duckdb.DuckDBPyConnection, publication: dict) -> None:
    """Append what was just published (this run's row of `reporting.publication_history`;
    `reporting.publication` points at the newest as-of date, which may be another run's) to
    the audit trail."""
    ensure_audit_table(con)
    con.execute(
        f"insert into {PUBLICATIONS_TABLE} values ($run_id, $as_of_date, $published_at, "
        "$config_version, $history_file)",
        publication,
    )


def record(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    as_of: date,
    source: str,
    outcomes: list[CheckOutcome],
    table: str | None = None,
) -> None:
    """Append the outcomes of one check run; `table` defaults to each outcome's suite."""
    ensure_audit_table(con)
    if not outcomes:
        return
    rows = pl.DataFrame(
        [
            {
                "run_id": run_id,
                "checked_at": datetime.now(),
                "as_of_date": as_of,
                "table_name": table or o.suite_name,
                "partition_key": as_of.isoformat(),
                "check_source": source,
                "check_name": o.expectation_type,
                "column_name": o.column_name,
                "parameters": o.parameters,
                "severity": o.severity,
                "passed": o.passed,
                "element_count": o.element_count,
                "unexpected_count": o.unexpected_count,
                "observed_value": o.observed_value,
            }
            for o in outcomes
        ],
        schema_overrides={
            "element_count": pl.Int64,
            "unexpected_count": pl.Int64,
            "column_name": pl.String,
            "observed_value": pl.String,
        },
    )
    con.register("outcomes", rows.to_arrow())
    con.execute(f"insert into {AUDIT_TABLE} by name select * from outcomes")
    con.unregister("outcomes")
