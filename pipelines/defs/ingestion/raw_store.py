"""The raw layer of the working database: one typed table per extract (`raw.<extract>`),
the rows quarantined (`raw.rejected_rows`), the delivery manifest (`raw.delivery_manifest`:
one row per delivered file version) and the entries not loaded (`raw.unrecognised_files`).
Plain functions (no Dagster); the caller holds the transaction.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import polars as pl

from pipelines.contract import DUCKDB_TYPES, EXTRACTS, Extract
from pipelines.defs.ingestion.pii import KEYED_PII
from pipelines.storage.tables import ensure_table

META_COLUMNS = {
    "_file_name": "VARCHAR",
    "_line_number": "INTEGER",
    "_business_date": "DATE",
    "_file_sha256": "VARCHAR",
    "_run_id": "VARCHAR",
}


# Tables of ingestion's own: name -> DuckDB type of each column.
MANIFEST_COLUMNS = {
    "extract": "varchar",
    "file_name": "varchar",
    "business_date": "date",
    "file_sha256": "varchar",
    "file_size": "bigint",
    "file_mtime_ns": "bigint",
    "rows_in_file": "integer",
    "accepted_rows": "integer",
    "rejected_rows": "integer",
    "run_id": "varchar",
    "loaded_at": "timestamp",
    "is_current": "boolean",
}
UNRECOGNISED_COLUMNS = {
    "file_name": "varchar",
    "reason": "varchar",
    "run_id": "varchar",
    "seen_at": "timestamp",
}
REJECTED_COLUMNS = {
    "extract": "varchar",
    "file_name": "varchar",
    "line_number": "integer",
    "column_name": "varchar",
    "reason": "varchar",
    "business_date": "date",
    "file_sha256": "varchar",
    "run_id": "varchar",
}


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw tables, the manifest and the rejected-rows table if absent; columns
    added to the contract later reach older working databases (null before)."""
    for extract in EXTRACTS.values():
        columns = {c.name: DUCKDB_TYPES[c.type] for c in extract.columns} | META_COLUMNS
        columns |= dict.fromkeys(KEYED_PII.get(extract.name, {}).values(), "varchar")
        ensure_table(con, f"raw.{extract.name}", columns)
    ensure_table(con, "raw.delivery_manifest", MANIFEST_COLUMNS)
    ensure_table(con, "raw.unrecognised_files", UNRECOGNISED_COLUMNS)
    ensure_table(con, "raw.rejected_rows", REJECTED_COLUMNS)


def current_manifest(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, int, int]]:
    """file name -> (sha256, size, mtime_ns) of its current delivery."""
    rows = con.execute(
        "select file_name, file_sha256, file_size, file_mtime_ns from raw.delivery_manifest "
        "where is_current"
    ).fetchall()
    return {name: (sha, size, mtime) for name, sha, size, mtime in rows}


def known_ids(con: duckdb.DuckDBPyConnection, replaced: dict[str, list[str]]) -> dict:
    """The keys of the master snapshots other extracts reference (customer and product ids)
    already loaded, per master extract, minus the rows of the `replaced` files."""
    known = {}
    for master in dict.fromkeys(m for e in EXTRACTS.values() for m in e.references.values()):
        key = EXTRACTS[master].key[0]
        rows = con.execute(
            f"select distinct {key} from raw.{master} where _file_name not in "
            "(select unnest(?::varchar[]))",
            [replaced.get(master, [])],
        ).fetchall()
        known[master] = {r[0] for r in rows}
    return known


def has_rows_up_to(con: duckdb.DuckDBPyConnection, extract: Extract, as_of: date) -> bool:
    """Whether raw.<extract> holds rows dated on or before `as_of`."""
    return bool(
        con.execute(
            f"select count(*) from raw.{extract.name} where _business_date <= ?", [as_of]
        ).fetchone()[0]
    )


def next_loaded_at(con: duckdb.DuckDBPyConnection) -> datetime:
    """The load time of a new run: now, or strictly after every earlier load if the clock
    went back (a DST change, a clock reset): the compact sales facts take "loaded after
    their last build" from it."""
    return con.execute(
        "select greatest(?::timestamp, max(loaded_at) + interval 1 microsecond) "
        "from raw.delivery_manifest",
        [datetime.now()],
    ).fetchone()[0]


def remove_files(con: duckdb.DuckDBPyConnection, extract: Extract, names: list[str]) -> None:
    """Delete the rows and the quarantined rows of the files `names` (extract/file) of
    `extract`, before they are loaded again."""
    con.execute(f"delete from raw.{extract.name} where _file_name in ?", [names])
    con.execute("delete from raw.rejected_rows where file_name in ?", [names])


def append_chunk(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    accepted: pl.DataFrame,
    problems: pl.DataFrame,
    run_id: str,
) -> None:
    """Append accepted rows to raw.<extract> and problems to raw.rejected_rows."""
    casts = ", ".join(f"cast({c.name} as {DUCKDB_TYPES[c.type]})" for c in extract.columns)
    keys = list(KEYED_PII.get(extract.name, {}).values())
    names_in_order = ", ".join([*extract.column_names, *META_COLUMNS, *keys])
    # DuckDB reads the local frames by name (a replacement scan): a view registered on the
    # connection would keep every group's rows in memory until the run's transaction ends
    batch = accepted.with_columns(_run_id=pl.lit(run_id))  # noqa: F841
    rejected = problems.with_columns(run_id=pl.lit(run_id))  # noqa: F841
    con.execute(
        f"insert into raw.{extract.name} ({names_in_order}) select {casts}, _file_name, "
        f"_line_number, _business_date, _file_sha256, _run_id{''.join(', ' + k for k in keys)} "
        "from batch"
    )
    con.execute("insert into raw.rejected_rows by name select * from rejected")


def record_manifest(
    con: duckdb.DuckDBPyConnection, files: list[dict], run_id: str, loaded_at: datetime
) -> None:
    """Mark earlier versions of the loaded files superseded and record the new ones
    (`files`: IngestReport.files)."""
    if not files:
        return
    manifest = pl.DataFrame(files).with_columns(  # noqa: F841 (read by DuckDB)
        run_id=pl.lit(run_id), loaded_at=pl.lit(loaded_at), is_current=pl.lit(True)
    )
    con.execute(
        "update raw.delivery_manifest set is_current = false where file_name in "
        "(select file_name from manifest)"
    )
    con.execute("insert into raw.delivery_manifest by name select * from manifest")


def record_unrecognised(
    con: duckdb.DuckDBPyConnection,
    unrecognised: list[tuple[str, str]],
    run_id: str,
    seen_at: datetime,
) -> None:
    """Record the (file name, why) of every entry of the landing folder not loaded."""
    if unrecognised:
        con.executemany(
            "insert into raw.unrecognised_files values (?, ?, ?, ?)",
            [[name, why, run_id, seen_at] for name, why in unrecognised],
        )
