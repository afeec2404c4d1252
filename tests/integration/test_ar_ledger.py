"""The AR ledger (F21) in dbt, on the worked example of the SPEC appendix, as of 2026-04-15."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.ingestion.loader import ensure_schema
from pipelines.settings import DBT_PROJECT_DIR, dbt_executable

DOCS = [  # doc_id, doc_type, customer, doc_date, due_date, amount, reference
    ("INV1", "invoice", "C1", "2026-01-01", "2026-01-31", "100.00", None),
    ("INV2", "invoice", "C1", "2026-02-01", "2026-03-03", "200.00", None),
    ("REC1", "receipt", "C1", "2026-02-10", None, "50.00", "INV1"),
    ("REC2", "receipt", "C1", "2026-03-01", None, "120.00", None),
    ("EXT1", "extension", "C1", "2026-03-01", "2026-04-30", "0.00", "INV2"),
    ("REV1", "reversal", "C1", "2026-03-05", None, "50.00", "REC1"),
    ("INV3", "invoice", "C2", "2026-01-01", "2026-01-10", "100.00", None),
    ("CN1", "credit_note", "C2", "2026-01-05", None, "150.00", "INV3"),
    ("INV4", "invoice", "C3", "2025-09-01", "2025-10-01", "300.00", None),
    ("INV5", "invoice", "C3", "2026-05-01", "2026-05-31", "999.00", None),
]


def build_ledger(tmp_path: Path, docs: list[tuple], as_of: str) -> duckdb.DuckDBPyConnection:
    """Load `docs` as raw payments into a fresh working database and run the dbt ledger."""
    work_db = tmp_path / "work.duckdb"
    con = duckdb.connect(str(work_db))
    ensure_schema(con)
    for doc_id, doc_type, customer, doc_date, due_date, amount, reference in docs:
        con.execute(
            "insert into raw.payments (doc_id, doc_type, customer_id, doc_date, due_date, amount, "
            "reference_doc_id, status, _file_name, _line_number, _business_date) "
            "values (?, ?, ?, ?, ?, ?, ?, 'posted', 'payments/test.csv', 2, ?)",
            [doc_id, doc_type, customer, doc_date, due_date, amount, reference, doc_date],
        )
    con.close()
    subprocess.run(
        [
            dbt_executable(),
            "build",
            "--select",
            "+customer_ar",
            "--vars",
            json.dumps({"as_of_date": as_of}),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--quiet",
        ],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "CRM_WORK_DB": str(work_db)},
        check=True,
    )
    return duckdb.connect(str(work_db), read_only=True)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return build_ledger(tmp_path_factory.mktemp("ledger"), DOCS, "2026-04-15")


def _ar(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    rows = con.execute(
        "select customer_id, ar_balance, unapplied_credit, overdue_amount, ar_current, ar_1_30, "
        "ar_31_60, ar_61_90, ar_91_180, ar_over_180 from marts.customer_ar order by 1"
    ).fetchall()
    names = [
        "ar_balance",
        "unapplied_credit",
        "overdue_amount",
        "ar_current",
        "ar_1_30",
        "ar_31_60",
        "ar_61_90",
        "ar_91_180",
        "ar_over_180",
    ]
    return {r[0]: {n: float(v) for n, v in zip(names, r[1:], strict=True)} for r in rows}


def test_worked_example_balances_and_buckets(ledger: duckdb.DuckDBPyConnection):
    zero = dict.fromkeys(
        [
            "ar_balance",
            "unapplied_credit",
            "overdue_amount",
            "ar_current",
            "ar_1_30",
            "ar_31_60",
            "ar_61_90",
            "ar_91_180",
            "ar_over_180",
        ],
        0.0,
    )
    assert _ar(ledger) == {
        # REV1 cancels REC1; REC2 settles INV1 and 20 of INV2, extended to 2026-04-30
        "C1": zero | {"ar_balance": 180.0, "ar_current": 180.0},
        # CN1 settles INV3's 100; the 50 excess is unapplied
        "C2": zero | {"ar_balance": -50.0, "unapplied_credit": 50.0},
        # INV4 is 196 days past due; INV5 does not exist yet
        "C3": zero | {"ar_balance": 300.0, "overdue_amount": 300.0, "ar_over_180": 300.0},
    }


def test_worked_example_items(ledger: duckdb.DuckDBPyConnection):
    items = ledger.execute(
        "select item_id, due_date, open_amount::double, days_past_due, aging_bucket "
        "from intermediate.int_ar_items_aged order by item_id"
    ).fetchall()
    assert items == [
        ("C2:unapplied", None, -50.0, None, None),
        ("INV1", date(2026, 1, 31), 0.0, 74, None),
        ("INV2", date(2026, 4, 30), 180.0, 0, "current"),
        ("INV3", date(2026, 1, 10), 0.0, 95, None),
        ("INV4", date(2025, 10, 1), 300.0, 196, "over_180"),
    ]
