"""Compare what two warehouse files publish: every relation of the `reporting` schema, its
columns (names, types, order, descriptions) and its rows, as multisets (EXCEPT ALL both
ways), leaving out only what names a run or a moment rather than a fact.

    .venv/bin/python scripts/compare_published.py BEFORE.duckdb AFTER.duckdb

Used to prove that a change of structure leaves the published tables as they were: run the
same landing folder through the code before and after, then compare. Exit code 0 when
identical, 1 with a line per difference.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

# Columns that say which run published, when, or where a file sat: they differ between two
# runs of the same facts.
VOLATILE = {
    "run_id",
    "last_run_id",
    "published_at",
    "last_published_at",
    "history_file",
    "checked_at",
    "loaded_at",
    "file_mtime_ns",
}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relations(con: duckdb.DuckDBPyConnection, db: str) -> dict[str, str | None]:
    """name -> comment of every table and view in `db`.reporting."""
    return dict(
        con.execute(
            "select table_name, comment from duckdb_tables() "
            "where database_name = ? and schema_name = 'reporting' "
            "union all select view_name, comment from duckdb_views() "
            "where database_name = ? and schema_name = 'reporting'",
            [db, db],
        ).fetchall()
    )


def _columns(con: duckdb.DuckDBPyConnection, db: str, table: str) -> list[tuple]:
    return con.execute(
        "select column_name, data_type, comment from duckdb_columns() "
        "where database_name = ? and schema_name = 'reporting' and table_name = ? "
        "order by column_index",
        [db, table],
    ).fetchall()


def differences(before: Path, after: Path) -> list[str]:
    """Every way the `reporting` schemas of two warehouse files differ (empty: identical)."""
    con = duckdb.connect()
    con.execute(f"attach '{before}' as a (read_only)")
    con.execute(f"attach '{after}' as b (read_only)")
    found = []
    rel_a, rel_b = _relations(con, "a"), _relations(con, "b")
    for name in sorted(rel_a.keys() ^ rel_b.keys()):
        found.append(f"{name}: only in {'before' if name in rel_a else 'after'}")
    for name in sorted(rel_a.keys() & rel_b.keys()):
        if rel_a[name] != rel_b[name]:
            found.append(f"{name}: table description differs")
        cols_a, cols_b = _columns(con, "a", name), _columns(con, "b", name)
        if cols_a != cols_b:
            found.append(f"{name}: columns differ: {sorted(set(cols_a) ^ set(cols_b))}")
            continue
        kept = ", ".join(_quoted(c[0]) for c in cols_a if c[0] not in VOLATILE)
        for left, right, label in (("a", "b", "before"), ("b", "a", "after")):
            extra = con.execute(
                f"select count(*) from (select {kept} from {left}.reporting.{_quoted(name)} "
                f"except all select {kept} from {right}.reporting.{_quoted(name)})"
            ).fetchone()[0]
            if extra:
                found.append(f"{name}: {extra} row(s) only {label}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    found = differences(Path(argv[0]), Path(argv[1]))
    for line in found:
        print(line)
    if not found:
        print("identical: every reporting table and view, its columns and its rows")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
