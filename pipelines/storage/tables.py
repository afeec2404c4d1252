"""Tables of the working database: reading an as-of date, writing one, and the one way a
table's schema evolves (columns a newer release adds are added, null in earlier rows)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import duckdb
import polars as pl


def quoted(name: str) -> str:
    """A column name as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def columns_of(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """name -> DuckDB type of a table, a view or a query (`select …`)."""
    return {name: kind for name, kind, *_ in con.execute(f"describe {relation}").fetchall()}


def add_missing_columns(
    con: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, str]
) -> list[str]:
    """Add to `table` every column of `columns` (name -> DuckDB type) it lacks; rows written
    before read null there. Returns the names added."""
    present = columns_of(con, table)
    added = [name for name in columns if name not in present]
    for name in added:
        con.execute(f"alter table {table} add column {quoted(name)} {columns[name]}")
    return added


def ensure_table(con: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, str]) -> None:
    """Create `schema.table` with `columns` (name -> DuckDB type) if absent, and give an
    existing one the columns it lacks."""
    con.execute(f"create schema if not exists {table.split('.')[0]}")
    listed = ", ".join(f"{quoted(name)} {kind}" for name, kind in columns.items())
    con.execute(f"create table if not exists {table} ({listed})")
    add_missing_columns(con, table, columns)


def exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """Whether the table or view `schema.name` exists in the working database."""
    return bool(
        con.execute(
            "select count(*) from (select schema_name, table_name as name from duckdb_tables() "
            "union all select schema_name, view_name from duckdb_views()) "
            "where schema_name || '.' || name = ?",
            [relation],
        ).fetchone()[0]
    )


def read_as_of(con: duckdb.DuckDBPyConnection, table: str, as_of: date) -> pl.DataFrame:
    """The rows of `table` for one as-of date."""
    return con.execute(f"select * from {table} where as_of_date = ?", [as_of]).pl()


def latest_before(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[str], as_of: date
) -> pl.DataFrame:
    """Each customer's latest row of `table` before `as_of` (empty when there is none)."""
    if not exists(con, table):
        return pl.DataFrame()
    return con.execute(
        f"select {', '.join(columns)} from {table} where as_of_date < ? "
        "qualify row_number() over (partition by customer_id order by as_of_date desc) = 1",
        [as_of],
    ).pl()


def previous_as_of(
    con: duckdb.DuckDBPyConnection, table: str, as_of: date
) -> tuple[date | None, pl.DataFrame]:
    """The latest as-of date of `table` before `as_of` and its rows (None and an empty frame
    when there is none)."""
    if not exists(con, table):
        return None, pl.DataFrame()
    previous = con.execute(
        f"select max(as_of_date) from {table} where as_of_date < ?", [as_of]
    ).fetchone()[0]
    return previous, con.execute(f"select * from {table} where as_of_date = ?", [previous]).pl()


def write_as_of(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, as_of: date
) -> None:
    """Replace one as-of date's rows of `table` with `frame`, in one transaction (the table
    is created from the frame when absent, and given the frame's columns it lacks)."""
    con.register("_as_of_rows", frame)
    try:
        ensure_table(con, table, columns_of(con, "select * from _as_of_rows"))
        con.execute("begin transaction")
        con.execute(f"delete from {table} where as_of_date = ?", [as_of])
        con.execute(f"insert into {table} by name select * from _as_of_rows")
        con.execute("commit")
    finally:
        con.unregister("_as_of_rows")
