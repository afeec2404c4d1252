"""The publication step on a small hand-built working database: the pointer to the newest
as-of date whatever the order of the runs, the reporting.current_ views, the keys, and who
reads the pointer (the runner, `crm-pipeline status`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.defs.customer_value.tier_migrations import DIMENSIONS, EVIDENCE
from pipelines.defs.publishing.publish import (
    CURRENT_VIEWS,
    KEYS,
    PER_AS_OF_TABLES,
    PUBLISHED_TABLES,
    WHOLE_TABLES,
    publish,
)
from pipelines.runner import _published_by
from pipelines.storage.audit import ensure_audit_table, record_publication

OLDER, NEWER = date(2026, 3, 30), date(2026, 3, 31)
INTEGERS = {"risk_rank", "exposure_rank", "severity"}
# columns the published macros read
MACRO_COLUMNS = {"customer_tiers": (*DIMENSIONS, *EVIDENCE)}
# the working tables of the whole tables, and the audit trail, with the columns published
WHOLE_SOURCES = {
    "marts.customer_monthly_performance": ("month", "customer_id"),
    "marts.customer_retention_monthly": ("month",),
    "marts.region_monthly_performance": ("month", "region"),
    "marts.product_performance": ("month", "product_id"),
    "marts.complaints_monthly": ("month", "complaint_type", "severity"),
    "raw.rejected_rows": (
        "extract",
        "file_name",
        "line_number",
        "column_name",
        "reason",
        "business_date",
        "file_sha256",
        "run_id",
    ),
    "raw.delivery_manifest": ("file_name", "run_id"),
}


def _type(column: str) -> str:
    if column in ("as_of_date", "month", "business_date"):
        return "date"
    return "integer" if column in INTEGERS or column == "line_number" else "varchar"


def _working_database(path: Path) -> Path:
    """Two customers on each of two as-of dates in every per-as-of working table (a value
    that tells the dates apart), a few rows in each whole table, the audit tables."""
    with duckdb.connect(str(path)) as con:
        for schema in ("marts", "scoring", "raw"):
            con.execute(f"create schema {schema}")
        ensure_audit_table(con)
        for table, (source, order) in PER_AS_OF_TABLES.items():
            ordered = [part.split()[0] for part in order.split(",")]
            columns = list(dict.fromkeys([*KEYS[table], *ordered, *MACRO_COLUMNS.get(table, ())]))
            con.execute(
                f"create table {source} ("
                + ", ".join(f"{c} {_type(c)}" for c in columns)
                + ", figure integer)"
            )
            for as_of in (OLDER, NEWER):
                for n in (1, 2):
                    values = [
                        as_of if c == "as_of_date" else n if _type(c) == "integer" else f"{c}-{n}"
                        for c in columns
                    ]
                    con.execute(
                        f"insert into {source} values ({', '.join('?' * (len(columns) + 1))})",
                        [*values, as_of.day * 10 + n],
                    )
        for source, columns in WHOLE_SOURCES.items():
            con.execute(
                f"create table {source} (" + ", ".join(f"{c} {_type(c)}" for c in columns) + ")"
            )
            con.execute(
                f"insert into {source} values ({', '.join('?' * len(columns))})",
                [
                    OLDER if _type(c) == "date" else 1 if _type(c) == "integer" else c
                    for c in columns
                ],
            )
    return path


@pytest.fixture
def work_db(tmp_path: Path) -> Path:
    return _working_database(tmp_path / "work.duckdb")


def _publish(work_db: Path, warehouse: Path, run_id: str, as_of: date) -> dict:
    """What the publishing asset does: publish, then record the publication."""
    _, publication = publish(
        work_db, warehouse, run_id=run_id, as_of=as_of, config_version=f"v-{run_id}"
    )
    with duckdb.connect(str(work_db)) as con:
        record_publication(con, publication)
    return publication


def _rows(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _pointer(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute("select * from reporting.publication")
        rows = cursor.fetchall()
        assert len(rows) == 1, rows
        return dict(zip([d[0] for d in cursor.description], rows[0], strict=True))


def test_a_backfill_of_an_older_date_leaves_the_pointer_at_the_newest(work_db, tmp_path):
    warehouse = tmp_path / "warehouse" / "crm.duckdb"
    newer = _publish(work_db, warehouse, "run-newer", NEWER)
    older = _publish(work_db, warehouse, "run-older", OLDER)
    assert _pointer(warehouse) == {
        "run_id": "run-newer",
        "as_of_date": NEWER,
        "published_at": newer["published_at"],
        "config_version": "v-run-newer",
        "history_file": None,
        "last_run_id": "run-older",
        "last_run_as_of_date": OLDER,
        "last_published_at": older["published_at"],
    }
    assert _rows(warehouse, "select run_id, as_of_date from reporting.publication_history") == [
        ("run-newer", NEWER),
        ("run-older", OLDER),
    ]
    # the file is the older date's run's state, not the newest date's
    assert _published_by(warehouse, "run-older") is True
    assert _published_by(warehouse, "run-newer") is False
    assert _rows(warehouse, "select * from reporting.current_customer_tiers") == _rows(
        warehouse, "select * from reporting.customer_tiers where as_of_date = ?", [NEWER]
    )
    assert _rows(warehouse, "select figure from reporting.current_customer_tiers") == [
        (311,),
        (312,),
    ]


def test_runs_in_date_order_move_the_pointer_with_them(work_db, tmp_path):
    warehouse = tmp_path / "warehouse" / "crm.duckdb"
    _publish(work_db, warehouse, "run-older", OLDER)
    assert _published_by(warehouse, "run-older") is True
    newer = _publish(work_db, warehouse, "run-newer", NEWER)
    pointer = _pointer(warehouse)
    assert (pointer["run_id"], pointer["as_of_date"], pointer["published_at"]) == (
        "run-newer",
        NEWER,
        newer["published_at"],
    )
    assert (pointer["last_run_id"], pointer["last_run_as_of_date"]) == ("run-newer", NEWER)
    assert _published_by(warehouse, "run-newer") is True
    assert _published_by(warehouse, "run-older") is False


def test_the_same_date_published_again_is_the_later_run(work_db, tmp_path):
    warehouse = tmp_path / "warehouse" / "crm.duckdb"
    _publish(work_db, warehouse, "run-newer", NEWER)
    _publish(work_db, warehouse, "run-older", OLDER)
    _publish(work_db, warehouse, "run-newer-again", NEWER)
    pointer = _pointer(warehouse)
    assert (pointer["run_id"], pointer["last_run_id"]) == ("run-newer-again", "run-newer-again")


def test_a_rebuilt_working_database_keeps_the_pointer_and_the_history(work_db, tmp_path):
    """The working database removed and rebuilt (README, corrupted working database) holds
    no earlier publication: the published file's own history still counts."""
    warehouse = tmp_path / "warehouse" / "crm.duckdb"
    _publish(work_db, warehouse, "run-newer", NEWER)
    rebuilt = _working_database(tmp_path / "rebuilt.duckdb")
    publish(rebuilt, warehouse, run_id="run-older", as_of=OLDER, config_version="v")
    pointer = _pointer(warehouse)
    assert (pointer["run_id"], pointer["as_of_date"]) == ("run-newer", NEWER)
    assert pointer["last_run_id"] == "run-older"
    assert _rows(warehouse, "select run_id from reporting.publication_history") == [
        ("run-newer",),
        ("run-older",),
    ]


def test_every_current_view_holds_the_newest_date_of_its_table(work_db, tmp_path):
    warehouse = tmp_path / "warehouse" / "crm.duckdb"
    _publish(work_db, warehouse, "run-newer", NEWER)
    _publish(work_db, warehouse, "run-older", OLDER)
    assert set(CURRENT_VIEWS) == {f"current_{t}" for t in PER_AS_OF_TABLES}
    for view, table in CURRENT_VIEWS.items():
        current = _rows(warehouse, f"select * from reporting.{view}")
        assert len(current) == 2, view
        assert sorted(current) == sorted(
            _rows(warehouse, f"select * from reporting.{table} where as_of_date = ?", [NEWER])
        ), view
    # the bodies name no catalog: the views read the file they are in, whatever its name
    bodies = _rows(
        warehouse,
        "select sql from duckdb_views() where schema_name = 'reporting' and not internal",
    )
    assert len(bodies) == len(CURRENT_VIEWS)
    assert not [sql for (sql,) in bodies if "published." in sql]
    with duckdb.connect() as con:
        con.execute(f"attach '{warehouse}' as crm (read_only)")
        assert con.execute(
            "select count(*) from crm.reporting.current_credit_flags"
        ).fetchone() == (2,)


def test_every_table_view_and_column_is_described_with_the_keys(work_db, tmp_path):
    warehouse = tmp_path / "warehouse" / "crm.duckdb"
    _publish(work_db, warehouse, "run-newer", NEWER)
    relations = dict(
        _rows(
            warehouse,
            "select table_name, comment from duckdb_tables() where schema_name = 'reporting' "
            "union all select view_name, comment from duckdb_views() "
            "where schema_name = 'reporting' and not internal",
        )
    )
    assert set(relations) == {
        *PUBLISHED_TABLES,
        *CURRENT_VIEWS,
        "publication",
        "publication_history",
    }
    assert [name for name, comment in relations.items() if not comment] == []
    for table, key in KEYS.items():
        assert relations[table].endswith(f" Key: {', '.join(key)}."), table
    assert relations["current_customer_tiers"].startswith(
        "The rows of reporting.customer_tiers for the newest as-of date published"
    )
    described = dict(
        _rows(
            warehouse,
            "select column_name, comment from duckdb_columns() "
            "where schema_name = 'reporting' and table_name = 'publication'",
        )
    )
    assert set(described) >= {"last_run_id", "last_run_as_of_date", "last_published_at"}
    assert [c for c, comment in described.items() if not comment] == []
    # a view's columns are described as its table's
    assert _rows(
        warehouse,
        "select column_name, comment from duckdb_columns() "
        "where table_name = 'current_customer_tiers' and column_name = 'customer_id'",
    ) == _rows(
        warehouse,
        "select column_name, comment from duckdb_columns() "
        "where table_name = 'customer_tiers' and column_name = 'customer_id'",
    )


def test_the_keys_are_those_of_the_published_tables():
    assert set(KEYS) == set(PUBLISHED_TABLES) - {
        "data_quality_results",
        "rejected_rows",
        "delivery_manifest",
    } | {"publication_history"}
    for table in PER_AS_OF_TABLES:
        assert KEYS[table][0] == "as_of_date", table
    for table in WHOLE_TABLES.keys() & KEYS.keys():
        assert KEYS[table][0] == "month", table


def test_status_shows_the_newest_date_and_the_last_run_after_a_backfill(
    work_db, tmp_path, isolated_env
):
    warehouse = tmp_path / "warehouse" / "crm.duckdb"
    _publish(work_db, warehouse, "run-newer", NEWER)
    result = CliRunner().invoke(main, ["status", "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert f"newest as-of    {NEWER}, published at " in result.output
    assert "run             run-newer\n" in result.output
    assert "last run" not in result.output
    _publish(work_db, warehouse, "run-older", OLDER)
    result = CliRunner().invoke(main, ["status", "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert f"newest as-of    {NEWER}, published at " in result.output
    assert "run             run-newer\n" in result.output
    assert "configuration   v-run-newer\n" in result.output
    assert f"last run        run-older: as of {OLDER}, published at " in result.output
    assert f"as-of dates     2 ({OLDER} .. {NEWER})\n" in result.output
