"""The AR ledger (F21) in dbt, on the worked example of docs/analyses.md#f21 and on hand-computed
cases, each checked against the independent ledger of tests/reference_ar.py as well."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.defs.ingestion.raw_store import ensure_schema
from tests.reference_ar import FIELDS, PAYMENT_COLUMNS, reference_ar, reference_ledger, to_cents
from tests.support.dbt import dbt_build

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
    """Load `docs` as raw payments into a fresh working database and run the dbt ledger and
    the payment behaviour built on it."""
    work_db = tmp_path / "work.duckdb"
    con = duckdb.connect(str(work_db))
    ensure_schema(con)
    _insert(con, docs)
    con.close()
    dbt_build(work_db, tmp_path, LEDGER_SELECTION, as_of)
    return duckdb.connect(str(work_db), read_only=True)


LEDGER_SELECTION = ["+customer_ar", "+customer_payment_behaviour"]


def _insert(con: duckdb.DuckDBPyConnection, docs: list[tuple]) -> None:
    for doc in docs:  # a document is posted unless an eighth field says otherwise
        doc_id, doc_type, customer, doc_date, due_date, amount, reference, status = (
            *doc,
            "posted",
        )[:8]
        con.execute(
            "insert into raw.payments (doc_id, doc_type, customer_id, doc_date, due_date, amount, "
            "reference_doc_id, status, _file_name, _line_number, _business_date) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, 'payments/test.csv', 2, ?)",
            [doc_id, doc_type, customer, doc_date, due_date, amount, reference, status, doc_date],
        )


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


# ---------------------------------------------------------------------------------------------
# Hand-computed cases, one customer each, in one dbt build as of 2026-04-15 and one backdated
# build as of 2026-02-15 on the same documents. Days past due as of 2026-04-15: due 2026-04-09
# -> 6, 03-31 -> 15, 03-18 -> 28, 03-12 -> 34, 03-03 -> 43, 03-02 -> 44, 02-19 -> 55,
# 02-09 -> 65, 02-04 -> 70.

AS_OF = "2026-04-15"
BACKDATED = "2026-02-15"

CASES = [  # doc_id, doc_type, customer, doc_date, due_date, amount, reference[, status]
    # partial payments: two receipts against one invoice
    ("PART-I1", "invoice", "PART", "2026-01-05", "2026-02-04", "1000.00", None),
    ("PART-R1", "receipt", "PART", "2026-02-10", None, "300.00", "PART-I1"),
    ("PART-R2", "receipt", "PART", "2026-03-10", None, "250.50", "PART-I1"),
    # unreferenced receipts settle the oldest due first; equal due dates by doc_date
    ("OLD-I1", "invoice", "OLD", "2026-01-10", "2026-02-09", "100.00", None),
    ("OLD-I2", "invoice", "OLD", "2026-02-10", "2026-03-12", "200.00", None),
    ("OLD-I3", "invoice", "OLD", "2026-03-10", "2026-04-09", "300.00", None),
    ("OLD-I4", "invoice", "OLD", "2026-03-01", "2026-04-09", "150.00", None),
    ("OLD-R1", "receipt", "OLD", "2026-03-01", None, "150.00", None),
    ("OLD-R2", "receipt", "OLD", "2026-04-01", None, "250.00", None),
    # equal due date and doc_date: by doc_id
    ("TIE-B", "invoice", "TIE", "2026-03-01", "2026-03-31", "100.00", None),
    ("TIE-A", "invoice", "TIE", "2026-03-01", "2026-03-31", "100.00", None),
    ("TIE-R1", "receipt", "TIE", "2026-04-05", None, "120.00", None),
    # overpayment: nothing left to settle
    ("OVER-I1", "invoice", "OVER", "2026-03-01", "2026-03-31", "500.00", None),
    ("OVER-R1", "receipt", "OVER", "2026-03-25", None, "500.00", "OVER-I1"),
    ("OVER-R2", "receipt", "OVER", "2026-04-10", None, "80.00", None),
    # the excess of a referenced receipt settles another invoice
    ("EXC-I1", "invoice", "EXC", "2026-03-01", "2026-03-31", "500.00", None),
    ("EXC-I2", "invoice", "EXC", "2026-02-01", "2026-03-03", "400.00", None),
    ("EXC-R1", "receipt", "EXC", "2026-03-20", None, "650.00", "EXC-I1"),
    # a bounced receipt reopens its invoice
    ("BNC-I1", "invoice", "BNC", "2026-01-20", "2026-02-19", "800.00", None),
    ("BNC-R1", "receipt", "BNC", "2026-02-15", None, "800.00", "BNC-I1"),
    ("BNC-V1", "reversal", "BNC", "2026-03-01", None, "800.00", "BNC-R1"),
    ("BNC-I2", "invoice", "BNC", "2026-03-01", "2026-04-30", "300.00", None),
    ("BNC-R2", "receipt", "BNC", "2026-03-25", None, "300.00", "BNC-I2"),
    # reversals the ledger cannot match (F21 silent; the dbt ledger's choice): one of an
    # unknown receipt, owed from its own date; one that reverses more than its receipt
    ("REVX-V1", "reversal", "REVX", "2026-03-20", None, "120.00", "NO-SUCH-RECEIPT"),
    ("REVX-R1", "receipt", "REVX", "2026-02-01", None, "100.00", None),
    ("REVX-V2", "reversal", "REVX", "2026-02-10", None, "100.00", "REVX-R1"),
    ("REVX-V3", "reversal", "REVX", "2026-02-20", None, "30.00", "REVX-R1"),
    # an extension moves a due date
    ("EXT1-I1", "invoice", "EXT1", "2026-01-01", "2026-01-31", "1000.00", None),
    ("EXT1-X1", "extension", "EXT1", "2026-01-25", "2026-04-20", "0.00", "EXT1-I1"),
    # two extensions: the latest by doc_date wins even with the earlier due date; on one
    # doc_date, the greater doc_id wins
    ("EXT2-I1", "invoice", "EXT2", "2026-01-01", "2026-01-31", "600.00", None),
    ("EXT2-X1", "extension", "EXT2", "2026-01-20", "2026-05-31", "0.00", "EXT2-I1"),
    ("EXT2-X2", "extension", "EXT2", "2026-02-25", "2026-03-02", "0.00", "EXT2-I1"),
    ("EXT2-I2", "invoice", "EXT2", "2026-02-01", "2026-03-03", "400.00", None),
    ("EXT2-X5", "extension", "EXT2", "2026-03-01", "2026-04-30", "0.00", "EXT2-I2"),
    ("EXT2-X6", "extension", "EXT2", "2026-03-01", "2026-04-01", "0.00", "EXT2-I2"),
    # an extension naming another customer's invoice moves nothing
    ("XEXT-I1", "invoice", "XEXT", "2026-01-01", "2026-01-31", "100.00", None),
    ("XEXT-X1", "extension", "EXT1", "2026-02-01", "2026-05-31", "0.00", "XEXT-I1"),
    # the pool goes oldest first by the extended due date
    ("EXTP-I1", "invoice", "EXTP", "2026-01-01", "2026-01-31", "300.00", None),
    ("EXTP-X1", "extension", "EXTP", "2026-01-30", "2026-05-15", "0.00", "EXTP-I1"),
    ("EXTP-I2", "invoice", "EXTP", "2026-02-01", "2026-03-03", "200.00", None),
    ("EXTP-R1", "receipt", "EXTP", "2026-03-10", None, "250.00", None),
    # documents after the backdated as-of: an invoice, an extension, a receipt, a reversal
    ("LATE-I1", "invoice", "LATE", "2026-01-05", "2026-01-20", "1000.00", None),
    ("LATE-R1", "receipt", "LATE", "2026-02-10", None, "400.00", "LATE-I1"),
    ("LATE-I2", "invoice", "LATE", "2026-02-16", "2026-03-18", "500.00", None),
    ("LATE-X1", "extension", "LATE", "2026-02-20", "2026-03-31", "0.00", "LATE-I1"),
    ("LATE-R2", "receipt", "LATE", "2026-03-01", None, "600.00", None),
    ("LATE-V1", "reversal", "LATE", "2026-03-05", None, "400.00", "LATE-R1"),
    # a prepayment referencing an invoice issued later
    ("PRE-R1", "receipt", "PRE", "2026-02-01", None, "300.00", "PRE-I1"),
    ("PRE-I1", "invoice", "PRE", "2026-02-20", "2026-03-22", "300.00", None),
    # credit notes, referenced and unreferenced
    ("CN-I1", "invoice", "CN", "2026-02-01", "2026-03-03", "1000.00", None),
    ("CN-I2", "invoice", "CN", "2026-03-01", "2026-03-31", "500.00", None),
    ("CN-C1", "credit_note", "CN", "2026-03-05", None, "200.00", "CN-I2"),
    ("CN-C2", "credit_note", "CN", "2026-03-10", None, "350.00", None),
    # a receipt and no invoice
    ("NOINV-R1", "receipt", "NOINV", "2026-04-01", None, "250.00", None),
    # cancelled documents never existed
    ("CANC-I1", "invoice", "CANC", "2026-03-20", "2026-04-19", "700.00", None),
    ("CANC-R1", "receipt", "CANC", "2026-04-01", None, "700.00", "CANC-I1", "cancelled"),
    ("CANC-I2", "invoice", "CANC", "2026-03-01", "2026-03-10", "999.00", None, "cancelled"),
    ("GHOST-I1", "invoice", "GHOST", "2026-03-01", "2026-03-31", "50.00", None, "cancelled"),
    # bucket boundaries: days past due 0, -1, 1, 30, 31, 60, 61, 90, 91, 180, 181
    ("EDGE-000", "invoice", "EDGE", "2025-09-01", "2026-04-15", "1.00", None),
    ("EDGE-M01", "invoice", "EDGE", "2025-09-01", "2026-04-16", "2.00", None),
    ("EDGE-001", "invoice", "EDGE", "2025-09-01", "2026-04-14", "4.00", None),
    ("EDGE-030", "invoice", "EDGE", "2025-09-01", "2026-03-16", "8.00", None),
    ("EDGE-031", "invoice", "EDGE", "2025-09-01", "2026-03-15", "16.00", None),
    ("EDGE-060", "invoice", "EDGE", "2025-09-01", "2026-02-14", "32.00", None),
    ("EDGE-061", "invoice", "EDGE", "2025-09-01", "2026-02-13", "64.00", None),
    ("EDGE-090", "invoice", "EDGE", "2025-09-01", "2026-01-15", "128.00", None),
    ("EDGE-091", "invoice", "EDGE", "2025-09-01", "2026-01-14", "256.00", None),
    ("EDGE-180", "invoice", "EDGE", "2025-09-01", "2025-10-17", "512.00", None),
    ("EDGE-181", "invoice", "EDGE", "2025-09-01", "2025-10-16", "1024.00", None),
]


def _position(**figures: str) -> dict[str, Decimal]:
    """The nine F21 figures of a customer: the ones given, zero for the others."""
    assert set(figures) <= set(FIELDS)
    return {name: to_cents(figures.get(name, "0")) for name in FIELDS}


EXPECTED = {  # as of 2026-04-15
    # PART-I1 1000.00 - 300.00 - 250.50 = 449.50 open, due 02-04: 70 days
    "PART": _position(ar_balance="449.50", overdue_amount="449.50", ar_61_90="449.50"),
    # pool 150 + 250 = 400: I1 (due 02-09) 100 -> 300 left, I2 (03-12) 200 -> 100 left,
    # I4 (04-09, dated 03-01) 100 of 150 -> 50 open, I3 (04-09, dated 03-10) 300 open;
    # 350 at 6 days. 750 - 400 = 350
    "OLD": _position(ar_balance="350.00", overdue_amount="350.00", ar_1_30="350.00"),
    # pool 120: TIE-A settled, TIE-B 80 open at 15 days
    "TIE": _position(ar_balance="80.00", overdue_amount="80.00", ar_1_30="80.00"),
    # OVER-R1 settles OVER-I1; OVER-R2's 80 has nothing to settle
    "OVER": _position(ar_balance="-80.00", unapplied_credit="80.00"),
    # EXC-R1 settles EXC-I1's 500; its 150 excess settles EXC-I2 -> 250 open at 43 days
    "EXC": _position(ar_balance="250.00", overdue_amount="250.00", ar_31_60="250.00"),
    # BNC-V1 cancels BNC-R1, BNC-I1 is open again at 55 days; 1100 + 800 - 1100 = 800
    "BNC": _position(ar_balance="800.00", overdue_amount="800.00", ar_31_60="800.00"),
    # REVX-V1 120 owed from 03-20 (26 days); REVX-R1 reversed 130 > 100: 30 owed from
    # 02-20 (54 days); 120 + 130 - 100 = 150
    "REVX": _position(
        ar_balance="150.00", overdue_amount="150.00", ar_1_30="120.00", ar_31_60="30.00"
    ),
    # EXT1-I1 due 04-20 after EXT1-X1 (74 days late without it): current
    "EXT1": _position(ar_balance="1000.00", ar_current="1000.00"),
    # XEXT-I1 keeps its own due date 01-31 (EXT1's extension names it): 74 days
    "XEXT": _position(ar_balance="100.00", overdue_amount="100.00", ar_61_90="100.00"),
    # EXT2-I1: X2 (dated 02-25) beats X1 (01-20) -> due 03-02, 44 days;
    # EXT2-I2: X6 beats X5 (same date) -> due 04-01, 14 days
    "EXT2": _position(
        ar_balance="1000.00", overdue_amount="1000.00", ar_1_30="400.00", ar_31_60="600.00"
    ),
    # EXTP-I1 due 05-15 after EXTP-X1, so EXTP-I2 (03-03) is older: the 250 settles its
    # 200, then 50 of EXTP-I1 -> 250 current
    "EXTP": _position(ar_balance="250.00", ar_current="250.00"),
    # LATE-V1 cancels LATE-R1; pool 600 settles LATE-I2 (03-18) before LATE-I1 (03-31 after
    # LATE-X1): I1 900 open at 15 days; 1500 + 400 - 1000 = 900
    "LATE": _position(ar_balance="900.00", overdue_amount="900.00", ar_1_30="900.00"),
    # PRE-R1 settles PRE-I1
    "PRE": _position(),
    # CN-C1 settles 200 of CN-I2 -> 300 open at 15 days; CN-C2 350 settles CN-I1 (03-03)
    # -> 650 open at 43 days; 1500 - 550 = 950
    "CN": _position(
        ar_balance="950.00", overdue_amount="950.00", ar_1_30="300.00", ar_31_60="650.00"
    ),
    "NOINV": _position(ar_balance="-250.00", unapplied_credit="250.00"),
    # CANC-R1 and CANC-I2 are cancelled: CANC-I1 700 open, due 04-19
    "CANC": _position(ar_balance="700.00", ar_current="700.00"),
    # current 1 + 2 = 3; 1-30 4 + 8 = 12; 31-60 16 + 32 = 48; 61-90 64 + 128 = 192;
    # 91-180 256 + 512 = 768; >180 1024; overdue 2047 - 3 = 2044
    "EDGE": _position(
        ar_balance="2047.00",
        overdue_amount="2044.00",
        ar_current="3.00",
        ar_1_30="12.00",
        ar_31_60="48.00",
        ar_61_90="192.00",
        ar_91_180="768.00",
        ar_over_180="1024.00",
    ),
}

EXPECTED_BACKDATED = {  # as of 2026-02-15: later documents do not exist yet
    # XEXT-I1 due 01-31 whatever EXT1 asks: 15 days
    "XEXT": _position(ar_balance="100.00", overdue_amount="100.00", ar_1_30="100.00"),
    # LATE-I1 1000 - LATE-R1 400 = 600, due 01-20 (LATE-X1 not yet): 26 days
    "LATE": _position(ar_balance="600.00", overdue_amount="600.00", ar_1_30="600.00"),
    # PRE-I1 not issued yet: PRE-R1 is unapplied
    "PRE": _position(ar_balance="-300.00", unapplied_credit="300.00"),
    # BNC-R1 (02-15) settles BNC-I1; BNC-V1 (03-01) has not bounced it yet
    "BNC": _position(),
    # EXT2-I1 due 05-31 after EXT2-X1 only; EXT2-I2 due 03-03: all current
    "EXT2": _position(ar_balance="1000.00", ar_current="1000.00"),
    # EXTP-R1 not received yet: 300 + 200 current
    "EXTP": _position(ar_balance="500.00", ar_current="500.00"),
    # PART-I1 1000 - PART-R1 300 = 700, due 02-04: 11 days
    "PART": _position(ar_balance="700.00", overdue_amount="700.00", ar_1_30="700.00"),
    # REVX-V2 reverses all of REVX-R1 (02-01); REVX-V1 and V3 are later
    "REVX": _position(),
}
# customers with no document on or before 2026-02-15 are not in the ledger then
ABSENT_BACKDATED = {"TIE", "OVER", "NOINV", "CANC", "GHOST"}


def _rows(docs: list[tuple]) -> list[dict[str, str | None]]:
    """`docs` as payments extract rows, for the reference ledger."""
    rows = []
    for doc in docs:
        doc_id, doc_type, customer, doc_date, due_date, amount, reference, status = (
            *doc,
            "posted",
        )[:8]
        values = [doc_id, doc_type, customer, doc_date, due_date, amount, None, reference, status]
        rows.append(dict(zip(PAYMENT_COLUMNS, values, strict=True)))
    return rows


def _published(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Decimal]]:
    rows = con.execute(
        f"select customer_id, {', '.join(FIELDS)} from marts.customer_ar order by 1"
    ).fetchall()
    return {r[0]: {n: to_cents(v) for n, v in zip(FIELDS, r[1:], strict=True)} for r in rows}


def _reference(docs: list[tuple], as_of: str) -> dict[str, dict[str, Decimal]]:
    positions = reference_ar(_rows(docs), date.fromisoformat(as_of))
    return {c: {n: to_cents(v) for n, v in p.items()} for c, p in positions.items()}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return build_ledger(tmp_path_factory.mktemp("cases"), CASES, AS_OF)


@pytest.fixture(scope="module")
def cases_backdated(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return build_ledger(tmp_path_factory.mktemp("cases_backdated"), CASES, BACKDATED)


def test_reference_gives_the_worked_example(ledger: duckdb.DuckDBPyConnection):
    reference = _reference(DOCS, "2026-04-15")
    assert reference == {
        "C1": _position(ar_balance="180.00", ar_current="180.00"),
        "C2": _position(ar_balance="-50.00", unapplied_credit="50.00"),
        "C3": _position(ar_balance="300.00", overdue_amount="300.00", ar_over_180="300.00"),
    }
    assert _published(ledger) == reference


@pytest.mark.parametrize("customer_id", EXPECTED)
def test_hand_computed_case(cases: duckdb.DuckDBPyConnection, customer_id: str):
    assert _published(cases)[customer_id] == EXPECTED[customer_id]
    assert _reference(CASES, AS_OF)[customer_id] == EXPECTED[customer_id]


def test_cases_are_the_whole_ledger(cases: duckdb.DuckDBPyConnection):
    # GHOST has only a cancelled invoice: no AR position at all
    assert set(_published(cases)) == set(EXPECTED)
    assert _reference(CASES, AS_OF) == EXPECTED


@pytest.mark.parametrize("customer_id", EXPECTED_BACKDATED)
def test_hand_computed_case_backdated(cases_backdated: duckdb.DuckDBPyConnection, customer_id: str):
    assert _published(cases_backdated)[customer_id] == EXPECTED_BACKDATED[customer_id]
    assert _reference(CASES, BACKDATED)[customer_id] == EXPECTED_BACKDATED[customer_id]


def test_backdated_ledger_sees_no_later_document(cases_backdated: duckdb.DuckDBPyConnection):
    published = _published(cases_backdated)
    assert not set(published) & ABSENT_BACKDATED
    assert set(published) == set(EXPECTED) - ABSENT_BACKDATED
    assert published == _reference(CASES, BACKDATED)


@pytest.mark.parametrize("as_of", [AS_OF, BACKDATED])
def test_open_items_equal_the_reference(
    cases: duckdb.DuckDBPyConnection, cases_backdated: duckdb.DuckDBPyConnection, as_of: str
):
    """Invoice by invoice (open amount and due date after extensions), and the other items."""
    con = cases if as_of == AS_OF else cases_backdated
    ledger = reference_ledger(_rows(CASES), date.fromisoformat(as_of))
    items = con.execute(
        "select item_type, item_id, customer_id, due_date, open_amount "
        "from intermediate.int_ar_items_aged"
    ).fetchall()
    invoices = {i: (d, to_cents(a)) for t, i, _, d, a in items if t == "invoice"}
    assert invoices == {
        invoice_id: (invoice.due_date, to_cents(invoice.open_amount))
        for invoice_id, invoice in ledger.invoices.items()
    }
    owed = sorted((c, d, to_cents(a)) for t, _, c, d, a in items if t == "reversal")
    assert owed == sorted(
        (i.customer_id, i.due_date, to_cents(i.open_amount)) for i in ledger.other_items
    )
    unapplied = {c: to_cents(-a) for t, _, c, _, a in items if t == "unapplied_credit"}
    assert unapplied == {c: to_cents(v) for c, v in ledger.unapplied_credit.items()}


# Payment behaviour (F22) as of 2026-06-30, by hand.
BEHAVIOUR_DOCS = [
    # P1: I1 paid on time by R1
    ("P1-I1", "invoice", "P1", "2026-01-01", "2026-01-31", "100.00", None),
    ("P1-R1", "receipt", "P1", "2026-01-30", None, "100.00", "P1-I1"),
    # I4 (due 03-31), I2 (due 05-01), I3 (due 07-01, then 07-15 by X1): the unreferenced R2
    # of 200 on 06-20 pays I4 80 (81 days late) and I2 120 (50 days late); I2 keeps 80 open,
    # 60 days past due on 06-30; I3 is not due
    ("P1-I4", "invoice", "P1", "2026-03-01", "2026-03-31", "80.00", None),
    ("P1-I2", "invoice", "P1", "2026-04-01", "2026-05-01", "200.00", None),
    ("P1-I3", "invoice", "P1", "2026-06-01", "2026-07-01", "50.00", None),
    ("P1-X1", "extension", "P1", "2026-05-15", "2026-07-15", "0.00", "P1-I3"),
    # R0 bounced by V0: it never paid anything
    ("P1-R0", "receipt", "P1", "2026-05-01", None, "30.00", "P1-I3"),
    ("P1-V0", "reversal", "P1", "2026-05-10", None, "30.00", "P1-R0"),
    ("P1-R2", "receipt", "P1", "2026-06-20", None, "200.00", None),
    # P2 paid before it was invoiced: the pool settles I5 on its own date, 30 days early
    ("P2-R5", "receipt", "P2", "2026-02-01", None, "100.00", None),
    ("P2-I5", "invoice", "P2", "2026-03-01", "2026-03-31", "100.00", None),
]


@pytest.fixture(scope="module")
def behaviour(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    con = build_ledger(tmp_path_factory.mktemp("behaviour"), BEHAVIOUR_DOCS, "2026-06-30")
    frame = con.execute("select * from marts.customer_payment_behaviour order by 1").pl()
    return {r["customer_id"]: r for r in frame.iter_rows(named=True)}


def test_payment_behaviour_by_hand(behaviour: dict[str, dict]):
    p1 = behaviour["P1"]
    # due in 12m: I1, I4, I2 (I3 is due 07-15); late: I4 and I2
    assert (p1["invoices_due_12m"], p1["late_invoices_12m"]) == (3, 2)
    assert p1["late_invoice_share_12m"] == 0.6667
    # portions: I1 100 x 0 (paid 01-30, q2), I4 80 x 81 and I2 120 x 50 (paid 06-20, q1),
    # I2 open 80 x 60: 12m (6480 + 6000 + 4800) / 380 = 45.47; the quarters count what was
    # paid in them: q1 (6480 + 6000) / 200 = 62.4, q2 0
    assert p1["avg_days_late_12m"] == 45.5
    assert (p1["avg_days_late_q1"], p1["avg_days_late_q2"]) == (62.4, 0.0)
    assert (p1["avg_days_late_q3"], p1["avg_days_late_q4"]) == (None, None)
    assert p1["days_late_trend"] == 62.4
    assert (p1["extension_requests_90d"], p1["extension_requests_12m"]) == (1, 1)
    assert (p1["bounced_payments_90d"], float(p1["bounced_amount_90d"])) == (1, 30.0)
    p2 = behaviour["P2"]
    # I5 paid when invoiced (03-01, 121 days before: q2), 30 days before its due date
    assert (p2["invoices_due_12m"], p2["late_invoices_12m"]) == (1, 0)
    assert (p2["late_invoice_share_12m"], p2["avg_days_late_12m"]) == (0.0, 0.0)
    assert (p2["avg_days_late_q1"], p2["avg_days_late_q2"], p2["days_late_trend"]) == (
        None,
        0.0,
        None,
    )
    assert (p2["bounced_payments_90d"], p2["extension_requests_90d"]) == (0, 0)


def test_each_application_is_a_positive_part_of_a_credit(ledger, cases):
    """No credit is applied beyond what it brings, and no application is empty."""
    for con in (ledger, cases):
        assert (
            con.execute("""
            select count(*) from (
                select credits.doc_id
                from intermediate.int_ar_credits as credits
                join intermediate.int_ar_credit_applications as a on a.credit_id = credits.doc_id
                group by credits.doc_id, credits.effective_amount
                having sum(a.applied_amount) > credits.effective_amount
                    or min(a.applied_amount) <= 0
            )
        """).fetchone()[0]
            == 0
        )


# The ledger is incremental per customer (macros/ar_ledger.sql): each run settles again only
# the customers whose documents on or before the as-of date changed.
LEDGER_TABLES = {
    "intermediate.int_ar_invoices": "invoice_id",
    "intermediate.int_ar_credits": "doc_id",
    "intermediate.int_ar_credit_applications": "credit_id, invoice_id, application_type",
    "intermediate.int_ar_items": "item_id",
}


def _ledger(con: duckdb.DuckDBPyConnection, as_of: str) -> dict[str, list[tuple]]:
    """Every row of the ledger tables (without the watermark) and of the AR marts for `as_of`."""
    rows = {}
    for table, key in LEDGER_TABLES.items():
        columns = [
            c
            for (c,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema || '.' || table_name = ? and column_name <> 'ledger_through' "
                "order by ordinal_position",
                [table],
            ).fetchall()
        ]
        rows[table] = con.execute(
            f"select {', '.join(columns)} from {table} order by {key}"
        ).fetchall()
    for mart in ("marts.customer_ar", "marts.customer_payment_behaviour"):
        rows[mart] = con.execute(
            f"select * from {mart} where as_of_date = ? order by customer_id", [as_of]
        ).fetchall()
    return rows


def _positions_on(con: duckdb.DuckDBPyConnection, as_of: str) -> dict[str, dict[str, Decimal]]:
    rows = con.execute(
        f"select customer_id, {', '.join(FIELDS)} from marts.customer_ar "
        "where as_of_date = ? order by 1",
        [as_of],
    ).fetchall()
    return {r[0]: {n: to_cents(v) for n, v in zip(FIELDS, r[1:], strict=True)} for r in rows}


def test_the_incremental_ledger_settles_only_changed_customers_and_equals_a_full_build(
    tmp_path: Path,
):
    docs = list(CASES)
    work_db = tmp_path / "work.duckdb"
    with duckdb.connect(str(work_db)) as con:
        ensure_schema(con)
        _insert(con, docs)

    def build(as_of: str) -> None:
        dbt_build(work_db, tmp_path, LEDGER_SELECTION, as_of)
        with duckdb.connect(str(work_db), read_only=True) as con:
            assert _positions_on(con, as_of) == _reference(docs, as_of), as_of

    def rebuilt() -> set[str]:
        with duckdb.connect(str(work_db), read_only=True) as con:
            return {
                c
                for (c,) in con.execute(
                    "select customer_id from intermediate.int_ar_ledger_customers "
                    "where ledger_built_at = (select max(ledger_built_at) "
                    "from intermediate.int_ar_ledger_customers)"
                ).fetchall()
            }

    build(BACKDATED)  # the first build settles everyone
    build(AS_OF)  # every customer with a document in between is settled again
    assert rebuilt() == {
        doc[2] for doc in docs if BACKDATED < doc[3] <= AS_OF and (*doc, "posted")[7] == "posted"
    }
    # a correction, a cancellation and a new document
    with duckdb.connect(str(work_db)) as con:
        con.execute("update raw.payments set amount = 260.50 where doc_id = 'PART-R2'")
        con.execute("update raw.payments set status = 'cancelled' where doc_id = 'CANC-I1'")
        new = ("OVER-I2", "invoice", "OVER", "2026-04-12", "2026-05-12", "50.00", None)
        _insert(con, [new])
    docs[docs.index(CASES[2])] = (*CASES[2][:5], "260.50", CASES[2][6])
    canc = next(d for d in docs if d[0] == "CANC-I1")
    docs[docs.index(canc)] = (*canc, "cancelled")
    docs.append(new)
    build(AS_OF)
    assert rebuilt() == {"PART", "CANC", "OVER"}
    with duckdb.connect(str(work_db), read_only=True) as con:
        # the other customers' rows were left as they were
        for table in LEDGER_TABLES:
            assert con.execute(
                f"select count(*) from {table} where customer_id not in ('PART', 'CANC', 'OVER') "
                f"and ledger_through = (select max(ledger_through) from {table})"
            ).fetchone() == (0,), table
    build(BACKDATED)  # later documents vanish again, and with them CANC's last one
    assert "CANC" not in _positions_on(duckdb.connect(str(work_db), read_only=True), BACKDATED)

    full_db = tmp_path / "full.duckdb"
    full_db.write_bytes(work_db.read_bytes())
    dbt_build(full_db, tmp_path, LEDGER_SELECTION, BACKDATED, full_refresh=True)
    with (
        duckdb.connect(str(work_db), read_only=True) as incremental,
        duckdb.connect(str(full_db), read_only=True) as full,
    ):
        assert _ledger(incremental, BACKDATED) == _ledger(full, BACKDATED)
        assert _ledger(incremental, BACKDATED)["intermediate.int_ar_invoices"]
