"""Column schemas for the Dagster UI (`dagster/column_schema`), built from the descriptions
BI tools see (the catalogue columns.py reads: each domain's tables.yml for the tables built
in Python, the dbt YAML through the manifest for the dbt models), exactly as publish.py
writes them as DuckDB comments.

Definitions carry the schema known before a run (the types are `?` until then, as for the
dbt models); every materialization carries the schema of what it wrote, with its types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from pipelines.defs.credit.flags import CREDIT_FLAG_COLUMNS
from pipelines.defs.publishing.columns import published_descriptions

# Python tables that carry some of a dbt model's columns: the columns their rule selects.
SELECTED_COLUMNS: dict[str, list[str]] = {"credit_flags": CREDIT_FLAG_COLUMNS}
# The type of a column before the first materialization (dagster-dbt shows the same).
UNKNOWN_TYPE = "?"


def published_columns(table: str, dbt_manifest: Path) -> dict[str, str]:
    """The columns of a published table with their descriptions."""
    described = published_descriptions(table, dbt_manifest)
    return {name: described.get(name, "") for name in SELECTED_COLUMNS.get(table, described)}


def markdown_text(text: str) -> str:
    """`text` as the Dagster UI should show it: it renders descriptions as Markdown, where
    a placeholder such as `<as-of>` would be taken for an HTML tag and dropped."""
    return re.sub(r"<(?=[A-Za-z/!?])", r"\\<", text)


def column_schema(
    columns: Mapping[str, str], types: Mapping[str, str] | None = None
) -> dg.TableSchema:
    """A TableSchema of `columns` (name -> description), with `types` where known."""
    types = types or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name,
                type=types.get(name, UNKNOWN_TYPE),
                description=markdown_text(description) if description else None,
            )
            for name, description in columns.items()
        ]
    )


def frame_schema(frame: pl.DataFrame, descriptions: Mapping[str, str]) -> dg.TableSchema:
    """The schema of a frame an asset wrote: its columns, their Polars types, described."""
    return column_schema(
        {name: descriptions.get(name, "") for name in frame.columns},
        {name: str(dtype) for name, dtype in frame.schema.items()},
    )


def published_schemas(
    con: duckdb.DuckDBPyConnection, tables: list[str]
) -> dict[str, dg.TableSchema]:
    """The schema of each table of the reporting schema of the open published file, as BI
    tools see it: its columns in order, their DuckDB types and comments."""
    rows = con.execute(
        "select table_name, column_name, data_type, comment from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'reporting' "
        "order by table_name, column_index"
    ).fetchall()
    columns: dict[str, dict[str, str]] = {table: {} for table in tables}
    types: dict[str, dict[str, str]] = {table: {} for table in tables}
    for table, column, data_type, comment in rows:
        if table in columns:
            columns[table][column] = comment or ""
            types[table][column] = data_type
    return {table: column_schema(columns[table], types[table]) for table in tables}


def table_spec(
    key: dg.AssetKey,
    description: str,
    deps: list[dg.AssetKey],
    group: str,
    columns: Mapping[str, str],
) -> dg.AssetSpec:
    """The spec of a table a Polars rule writes into the working database: its lineage, its
    domain and the column schema BI tools will read."""
    return dg.AssetSpec(
        key,
        deps=deps,
        description=description,
        group_name=group,
        kinds={"polars", "duckdb"},
        metadata={"dagster/column_schema": column_schema(columns)},
    )


def table_result(
    key: dg.AssetKey, frame: pl.DataFrame, columns: Mapping[str, str], **metadata
) -> dg.MaterializeResult:
    """What a step wrote to the table of `key`: its rows, its schema, and `metadata`."""
    return dg.MaterializeResult(
        asset_key=key,
        metadata={
            "dagster/row_count": frame.height,
            "dagster/column_schema": frame_schema(frame, columns),
            **metadata,
        },
    )
