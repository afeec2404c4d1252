"""Publish the validated state to the warehouse file BI tools read, in one atomic step.

A new DuckDB file is written next to the warehouse (storage compatible with DuckDB 1.x
readers): a copy of the published file in which the as-of date's rows are replaced from the
working database and the whole tables rewritten; it is checkpointed and closed, then
renamed over the published file. Copying the file costs what its bytes cost, not a
re-encoding of every earlier as-of date. A reader that has the old file open keeps reading the old, complete state;
a crash before the rename leaves the published file exactly as it was, and the next run
removes the leftover temporary file.

`reporting.publication` points at the newest as-of date published, whatever the order of
the runs (a backfill of an older date does not move it back), with the last run beside it;
the `reporting.current_<table>` views hold that date's rows of each per-as-of table.
"""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipelines.defs.customer_value.tier_migrations import DIMENSIONS, EVIDENCE
from pipelines.defs.publishing.columns import (
    current_view_description,
    published_descriptions,
    table_description,
    with_key,
)
from pipelines.settings import duckdb_memory_limit
from pipelines.sql import sql_literal
from pipelines.storage.tables import add_missing_columns, columns_of

# Tables with one partition per as-of date: published table -> (working table, order). A
# publication takes the run's own as-of date from the working database, where it was just
# validated, and every other date from the previously published file, where it was
# validated by its own run: rows a failed run left in the working database never reach BI.
PER_AS_OF_TABLES: dict[str, tuple[str, str]] = {
    "customer_facts": ("marts.customer_facts", "as_of_date, customer_id"),
    "customer_tiers": ("scoring.customer_tiers", "as_of_date, customer_id"),
    "credit_flags": ("scoring.credit_flags", "as_of_date, customer_id"),
    "credit_scorecard": (
        "scoring.credit_scorecard",
        "as_of_date, customer_id, component_group, component",
    ),
    "tier_migrations": ("scoring.tier_migrations", "as_of_date, customer_id, dimension"),
    "credit_flag_changes": (
        "scoring.credit_flag_changes",
        "as_of_date, customer_id, reason_code",
    ),
    "credit_company_view": ("scoring.credit_company_view", "as_of_date"),
    "credit_watch_list": ("scoring.credit_watch_list", "as_of_date, exposure_rank"),
    "customer_composition": ("scoring.customer_composition", "as_of_date, dimension, segment"),
    "prospect_grades": ("scoring.prospect_grades", "as_of_date, prospect_id"),
    "supply_cover": ("scoring.supply_cover", "as_of_date, customer_id, product_id"),
    "key_account_supply_risk": (
        "scoring.key_account_supply_risk",
        "as_of_date, risk_rank nulls last, customer_id",
    ),
}
# Tables rebuilt whole by every run (validated in it), and the audit trail: published table
# -> the query over the working database (attached as `work`).
WHOLE_TABLES: dict[str, str] = {
    "customer_monthly_performance": (
        "select * from work.marts.customer_monthly_performance order by month, customer_id"
    ),
    "customer_retention_monthly": (
        "select * from work.marts.customer_retention_monthly order by month"
    ),
    "region_monthly_performance": (
        "select * from work.marts.region_monthly_performance order by month, region"
    ),
    "product_performance": (
        "select * from work.marts.product_performance order by month, product_id"
    ),
    "complaints_monthly": (
        "select * from work.marts.complaints_monthly order by month, complaint_type, severity"
    ),
    "data_quality_results": "select * from work.audit.data_quality_results",
    "rejected_rows": (
        "select extract, file_name, line_number, column_name, reason, business_date, "
        "file_sha256, run_id from work.raw.rejected_rows"
    ),
    "delivery_manifest": "select * from work.raw.delivery_manifest",
}
PUBLISHED_TABLES = [*PER_AS_OF_TABLES, *WHOLE_TABLES]
# The key of each published table that has one: unique and never null (checked on a real
# publication by tests/integration/test_write_audit_publish.py), and written into the
# table's description and docs/connecting-bi-tools.md. It is not declared as a PRIMARY
# KEY: DuckDB keeps an ART index for it, which made a year of as-of dates four times the
# bytes and each publication two to four times slower (docs/connecting-bi-tools.md,
# "Keys"); the SQLAlchemy dialect BI tools use does not reflect a DuckDB key's columns. The
# audit trail (data_quality_results, rejected_rows, delivery_manifest) has none: its rows
# are appended as things happen (a file version delivered again is recorded again).
KEYS: dict[str, tuple[str, ...]] = {
    "customer_facts": ("as_of_date", "customer_id"),
    "customer_tiers": ("as_of_date", "customer_id"),
    "credit_flags": ("as_of_date", "customer_id"),
    "credit_scorecard": ("as_of_date", "customer_id", "component_group", "component"),
    "tier_migrations": ("as_of_date", "customer_id", "dimension"),
    "credit_flag_changes": ("as_of_date", "customer_id", "reason_code"),
    "credit_company_view": ("as_of_date",),
    "credit_watch_list": ("as_of_date", "customer_id"),
    "customer_composition": ("as_of_date", "dimension", "segment"),
    "prospect_grades": ("as_of_date", "prospect_id"),
    "supply_cover": ("as_of_date", "customer_id", "product_id"),
    "key_account_supply_risk": ("as_of_date", "customer_id"),
    "customer_monthly_performance": ("month", "customer_id"),
    "customer_retention_monthly": ("month",),
    "region_monthly_performance": ("month", "region"),
    "product_performance": ("month", "product_id"),
    "complaints_monthly": ("month", "complaint_type", "severity"),
    "publication_history": ("run_id", "published_at"),
}
# Views for BI tools: reporting.current_<table> holds the rows of the newest as-of date
# published (reporting.publication.as_of_date), so a dashboard need not filter on the date.
# Like the macros, their bodies name tables without a catalog.
CURRENT_VIEWS = {f"current_{table}": table for table in PER_AS_OF_TABLES}
CURRENT_VIEW = """
    create or replace view reporting.{view} as
    select * from reporting.{table}
    where as_of_date = (select as_of_date from reporting.publication)
"""


def _tier_changes_macro() -> str:
    """reporting.tier_changes(from_date, to_date): every customer whose class in any
    dimension of the tier migrations (customer_value.tier_migrations) differs between two
    as-of dates, each dimension and the evidence before and after."""
    columns = [*DIMENSIONS, *EVIDENCE]
    pairs = ",\n        ".join(f"a.{c} as {c}_before, b.{c} as {c}_after" for c in columns)
    changed = "\n        or ".join(f"a.{d} is distinct from b.{d}" for d in DIMENSIONS)
    return f"""
    create macro reporting.tier_changes(from_date, to_date) as table
    select
        coalesce(a.customer_id, b.customer_id) as customer_id,
        {pairs}
    from (select * from reporting.customer_tiers
          where as_of_date = cast(from_date as date)) as a
    full join (select * from reporting.customer_tiers
               where as_of_date = cast(to_date as date)) as b
        on a.customer_id = b.customer_id
    where {changed}
    """


# Table macros published with the tables, for BI tools: any two dates can be compared, e.g.
# select * from reporting.tier_changes('2026-10-31', '2026-11-30'). Their bodies name tables
# without a catalog so they bind to whatever file a reader has open.
MACROS = [_tier_changes_macro()]
# Oldest DuckDB storage format the file is written in: readable by every DuckDB >= 1.0.
STORAGE_VERSION = "v1.0.0"


def _tmp_prefix(warehouse: Path) -> str:
    return f".{warehouse.name}."


def remove_leftovers(warehouse: Path) -> list[Path]:
    """Delete temporary files an interrupted publication left behind."""
    removed = []
    for path in warehouse.parent.glob(f"{_tmp_prefix(warehouse)}*.tmp*"):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _comment_on(
    con: duckdb.DuckDBPyConnection, kind: str, name: str, text: str, columns: dict[str, str]
) -> None:
    con.execute(f"comment on {kind} published.reporting.{name} is {sql_literal(text)}")
    present = {
        r[0]
        for r in con.execute(
            "select column_name from duckdb_columns() where database_name = 'published' "
            "and schema_name = 'reporting' and table_name = ?",
            [name],
        ).fetchall()
    }
    for column, description in columns.items():
        if column in present and description:
            con.execute(
                f'comment on column published.reporting.{name}."{column}" is '
                f"{sql_literal(description)}"
            )


def _comment(con: duckdb.DuckDBPyConnection, dbt_manifest: Path | None) -> None:
    """COMMENT ON every published table and view, with the table's key, and on every column
    that has a description (a view's columns are described as its table's)."""
    described = {}
    for table in [*PUBLISHED_TABLES, "publication", "publication_history"]:
        text = with_key(table_description(table, dbt_manifest), KEYS.get(table))
        described[table] = published_descriptions(table, dbt_manifest)
        _comment_on(con, "table", table, text, described[table])
    for view, table in CURRENT_VIEWS.items():
        description = current_view_description(table, dbt_manifest)
        _comment_on(con, "view", view, description, described[table])


def _relations(con: duckdb.DuckDBPyConnection, kind: str) -> set[str]:
    """Tables or views of the published file's reporting schema."""
    function, column = {
        "table": ("duckdb_tables", "table_name"),
        "view": ("duckdb_views", "view_name"),
    }[kind]
    return {
        r[0]
        for r in con.execute(
            f"select {column} from {function}() "
            "where database_name = 'published' and schema_name = 'reporting'"
        ).fetchall()
    }


def history_dir(warehouse: Path) -> Path:
    """Where the last published states are kept, next to the warehouse."""
    return warehouse.parent / "history"


def _add_new_columns(con: duckdb.DuckDBPyConnection, published: str, source: str) -> None:
    """Columns the working table has gained since the last publication (a new release) are
    added to the published table; its earlier dates read null there."""
    add_missing_columns(con, published, columns_of(con, source))


def prune_history(warehouse: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest published states in history/ (names sort by the
    publication time); returns what was deleted."""
    states = sorted(history_dir(warehouse).glob(f"{warehouse.stem}_*.duckdb"))
    doomed = states[:-keep] if keep else states
    for path in doomed:
        path.unlink()
    return doomed


def _publication_tables(con: duckdb.DuckDBPyConnection, this: dict, *, had_history: bool) -> None:
    """reporting.publication_history: every publication so far, this one included (the
    working database's audit trail, and what the published file already listed: a working
    database rebuilt from scratch keeps no earlier publication). reporting.publication:
    the newest as-of date published and the publication that last wrote it, with this run,
    the last one, beside it: a backfill of an older date leaves the pointer where it was."""
    published = (
        "union by name select * from published.reporting.publication_history "
        if had_history
        else ""
    )
    con.execute(
        "create or replace temp table publications as "
        "select * from work.audit.publications "
        f"{published}"
        "union by name select $run_id::varchar as run_id, $as_of_date::date as as_of_date, "
        "$published_at::timestamp as published_at, $config_version::varchar as config_version, "
        "$history_file::varchar as history_file",
        this,
    )
    con.execute(
        "create or replace table published.reporting.publication_history as "
        "select * from publications order by published_at, run_id"
    )
    con.execute(
        "create or replace table published.reporting.publication as "
        "select run_id, as_of_date, published_at, config_version, "
        "$history_file::varchar as history_file, $run_id::varchar as last_run_id, "
        "$as_of_date::date as last_run_as_of_date, $published_at::timestamp as last_published_at "
        "from publications order by as_of_date desc, published_at desc limit 1",
        {k: this[k] for k in ("history_file", "run_id", "as_of_date", "published_at")},
    )
    con.execute("drop table publications")


def publish(
    work_db: Path,
    warehouse: Path,
    *,
    run_id: str,
    as_of: date,
    config_version: str,
    dbt_manifest: Path | None = None,
    keep_history: int = 0,
) -> tuple[dict[str, int], dict]:
    """Write the new published state into a new file (a copy of the published one with this
    as-of date replaced) and atomically replace the warehouse with it.

    Tables and columns carry their descriptions as DuckDB comments (dbt-built tables from
    `dbt_manifest`). The file is made read-only, and the `keep_history` newest published
    states are kept in history/ (hard links: a published file never changes). Returns the
    row count of each published table and this publication (its run, as-of date, time,
    configuration version and history file: the row to append to audit.publications). The
    working database must hold audit.publications (quality.results.ensure_audit_table).
    """
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(warehouse)
    published_at = datetime.now()
    history_name = (
        f"{warehouse.stem}_{published_at:%Y%m%dT%H%M%S}_asof{as_of:%Y%m%d}_{run_id[:8]}.duckdb"
    )
    tmp = warehouse.parent / f"{_tmp_prefix(warehouse)}{run_id}.tmp"
    if warehouse.exists():
        # the new state starts as a copy of the published one (a file copy, not a rewrite of
        # every earlier date); the published file itself is never opened for writing
        shutil.copyfile(warehouse, tmp)
    counts: dict[str, int] = {}
    con = duckdb.connect(config={"memory_limit": duckdb_memory_limit()})
    try:
        # ATTACH takes no parameters: the paths are quoted into the statement
        con.execute(
            f"attach {sql_literal(tmp)} as published "
            f"(storage_version {sql_literal(STORAGE_VERSION)})"
        )
        con.execute(f"attach {sql_literal(work_db)} as work (read_only)")
        con.execute("create schema if not exists published.reporting")
        existing = _relations(con, "table")
        for table, (source, order) in PER_AS_OF_TABLES.items():
            # this as-of date from the working database, every other date as published
            # before: rows of a run that failed its checks are never published
            rows = f"select * from work.{source} where as_of_date = $as_of order by {order}"
            target = f"published.reporting.{table}"
            if table in existing:
                _add_new_columns(con, target, f"work.{source}")
                con.execute(f"delete from {target} where as_of_date = $as_of", {"as_of": as_of})
                con.execute(f"insert into {target} by name {rows}", {"as_of": as_of})
            else:
                con.execute(f"create table {target} as {rows}", {"as_of": as_of})
        for table, query in WHOLE_TABLES.items():
            con.execute(f"create or replace table published.reporting.{table} as {query}")
        for table in existing - {*PUBLISHED_TABLES, "publication", "publication_history"}:
            # a table an earlier release published and this one no longer does
            con.execute(f"drop table published.reporting.{table}")
        for view in _relations(con, "view") - set(CURRENT_VIEWS):
            con.execute(f"drop view published.reporting.{view}")
        for table in PUBLISHED_TABLES:
            counts[table] = con.execute(
                f"select count(*) from published.reporting.{table}"
            ).fetchone()[0]
        this = {
            "run_id": run_id,
            "as_of_date": as_of,
            "published_at": published_at,
            "config_version": config_version,
            "history_file": history_name if keep_history else None,
        }
        _publication_tables(con, this, had_history="publication_history" in existing)
        con.execute("use published")  # macros and views bind their unqualified names here
        for macro in MACROS:
            con.execute(macro.replace("create macro", "create or replace macro", 1))
        for view, table in CURRENT_VIEWS.items():
            con.execute(CURRENT_VIEW.format(view=view, table=table))
        con.execute("use memory")
        _comment(con, dbt_manifest)
        con.execute("detach work")
        con.execute("checkpoint published")
        con.execute("detach published")
    finally:
        con.close()
    os.chmod(tmp, 0o444)  # BI tools must open it read-only; a published state never changes
    os.replace(tmp, warehouse)
    if keep_history:  # after the replace: history never holds a state that was not published
        history = history_dir(warehouse)
        history.mkdir(exist_ok=True)
        os.link(warehouse, history / history_name)
        prune_history(warehouse, keep_history)
    return counts, this
