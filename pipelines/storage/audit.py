"""The audit trail of every check: audit.data_quality_results in the working database.

Results are appended per run (passed or not), so a failed run's checks are kept and
published with the next run that publishes.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from pipelines.quality.validation import CheckOutcome

AUDIT_TABLE = "audit.data_quality_results"
PUBLICATIONS_TABLE = "audit.publications"


def ensure_audit_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists audit")
    con.execute(f"""
        create table if not exists {AUDIT_TABLE} (
            run_id varchar, checked_at timestamp, as_of_date date, table_name varchar,
            partition_key varchar, check_source varchar, check_name varchar,
            column_name varchar, parameters varchar, severity varchar, passed boolean,
            element_count bigint, unexpected_count bigint, observed_value varchar
        )""")
    con.execute(f"""
        create table if not exists {PUBLICATIONS_TABLE} (
            run_id varchar, as_of_date date, published_at timestamp, config_version varchar,
            history_file varchar
        )""")


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
    as_of: str,
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
                "as_of_date": datetime.fromisoformat(as_of).date(),
                "table_name": table or o.suite_name,
                "partition_key": as_of,
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
