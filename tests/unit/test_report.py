"""The auditors' report at any size: built from a small working database made here, with
hundreds of deliveries, rejected rows and failed checks."""

from __future__ import annotations

import html
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.defs.ingestion.raw_store import ensure_schema
from pipelines.defs.publishing.report import RunFacts, build_report, report_folder, reports_dir
from pipelines.quality.validation import CheckOutcome
from pipelines.storage.audit import ensure_audit_table, record

AS_OF = date(2026, 5, 31)
PUBLISHED_RUN = "11111111-aaaa-4aaa-8aaa-000000000001"
FAILED_RUN = "22222222-bbbb-4bbb-8bbb-000000000002"
# the buckets of the aging picture and the unapplied credit the AR balance nets off
BUCKETS = {
    "ar_current": 6000.00,
    "ar_1_30": 2000.00,
    "ar_31_60": 1000.00,
    "ar_61_90": 500.00,
    "ar_91_180": 300.00,
    "ar_over_180": 200.00,
}
UNAPPLIED = 150.25
BALANCE = sum(BUCKETS.values()) - UNAPPLIED  # 9,849.75
CHECK_MESSAGE = (
    "check gx_credit_flags on scoring/credit_flags failed: 1 of 3 expectations passed; "
    "failed: expect_column_values_to_be_between(ar_balance) 40 rows [critical], "
    "expect_column_values_to_not_be_null(dso) 7 rows [warning]"
)
STEP_MESSAGE = (
    "scoring__credit_flags_gx_credit_flags: dagster._core.errors.DagsterAssetCheckFailedError: "
    "1 blocking asset check failed with ERROR severity:"
)
OTHER_MESSAGE = "closing checkpoint: the disk is full"


def _outcome(table: str, name: str, column: str | None, passed: bool, **kw) -> CheckOutcome:
    return CheckOutcome(
        suite_name=table,
        expectation_type=name,
        column_name=column,
        parameters=kw.pop("parameters", json.dumps({"column": column})),
        severity=kw.pop("severity", "critical"),
        passed=passed,
        element_count=kw.pop("element_count", 40),
        unexpected_count=kw.pop("unexpected_count", 0),
        observed_value=kw.pop("observed_value", None),
    )


def _work_db(path: Path, run_id: str, deliveries: int, failing: bool) -> Path:
    """A working database holding one run: `deliveries` files (60% sales, 40% payments),
    3 of them with 25 rejected rows (29 problems), 39 passed checks and, when `failing`,
    2 failed critical checks and 1 failed warning (else 40 passed checks)."""
    with duckdb.connect(str(path)) as con:
        ensure_schema(con)
        ensure_audit_table(con)
        sales = deliveries * 3 // 5
        manifest, problems = [], []
        for i in range(deliveries):
            extract = "sales" if i < sales else "payments"
            day = AS_OF - timedelta(days=i if i < sales else i - sales)
            name = f"{extract}/{extract}_{day:%Y%m%d}.csv"
            rejected = 10 if i in (0, 1) else 5 if i == sales else 0
            manifest.append((extract, name, day, f"{i:064x}", 100, 100 - rejected, rejected))
            for line in range(2, 2 + rejected):
                problems.append((extract, name, line, "quantity", "not a number"))
                if extract == "sales" and line < 4:  # a second rule broken by the same row
                    problems.append((extract, name, line, "customer_id", "missing value"))
        columns = "extract, file_name, business_date, file_sha256, rows_in_file, accepted_rows, "
        manifest = pl.DataFrame(
            manifest, orient="row", schema=(columns + "rejected_rows").split(", ")
        )
        problems = pl.DataFrame(  # noqa: F841 (read by DuckDB)
            problems,
            orient="row",
            schema=["extract", "file_name", "line_number", "column_name", "reason"],
        )
        con.execute(
            "insert into raw.delivery_manifest by name select *, ? as run_id, "
            "now() as loaded_at, true as is_current from manifest",
            [run_id],
        )
        con.execute(
            "insert into raw.rejected_rows by name select *, ? as run_id from problems", [run_id]
        )
        passed = [
            _outcome(f"table_{i % 4}", "expect_column_values_to_not_be_null", f"col_{i}", True)
            for i in range(37)
        ]
        record(con, run_id=run_id, as_of=AS_OF, source="great_expectations", outcomes=passed)
        balance = {"published": round(BALANCE, 2), "extracts": round(BALANCE, 2)}
        sales_12m = {"published": 1250.5, "extracts": 1250.5 if not failing else 1000.25}
        reconciliation = [
            _outcome(table, name, None, ok, observed_value=json.dumps(figures), **no_counts)
            for table, name, ok, figures in [
                ("credit_flags", "ar_balance_total", True, balance),
                ("customer_tiers", "net_sales_12m_total", not failing, sales_12m),
                ("customer_tiers", "customers_tiered", True, {"published": 2, "extracts": 2}),
            ]
            for no_counts in [{"element_count": None, "unexpected_count": None}]
        ]
        record(con, run_id=run_id, as_of=AS_OF, source="reconciliation", outcomes=reconciliation)
        if failing:
            failed = [
                _outcome(
                    "credit_flags",
                    "expect_column_values_to_be_between",
                    "ar_balance",
                    False,
                    parameters=json.dumps({"column": "ar_balance", "max_value": -1e12}),
                    unexpected_count=40,
                ),
                _outcome(
                    "credit_flags",
                    "expect_column_values_to_not_be_null",
                    "dso",
                    False,
                    severity="warning",
                    unexpected_count=7,
                ),
            ]
            record(con, run_id=run_id, as_of=AS_OF, source="great_expectations", outcomes=failed)
        con.execute("create schema scoring")
        con.execute(
            "create table scoring.credit_flags (customer_id varchar, as_of_date date, "
            "ar_balance decimal(38, 2), unapplied_credit decimal(38, 2), "
            + ", ".join(f"{b} decimal(38, 2)" for b in BUCKETS)
            + ")"
        )
        # two customers: the second one holds the unapplied credit, and nothing open
        con.execute(
            "insert into scoring.credit_flags values ('000001', ?, ?, 0, "
            + ", ".join(["?"] * len(BUCKETS))
            + ")",
            [AS_OF, sum(BUCKETS.values()), *BUCKETS.values()],
        )
        con.execute(
            "insert into scoring.credit_flags values ('000002', ?, ?, ?, 0, 0, 0, 0, 0, 0)",
            [AS_OF, -UNAPPLIED, UNAPPLIED],
        )
    return path


def _text(page: str) -> str:
    """What a reader sees: tags dropped, entities decoded, white space collapsed."""
    page = re.sub(r"<(head|script)>.*?</\1>", " ", page, flags=re.DOTALL).replace("<wbr>", "")
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _collapsed_removed(page: str) -> str:
    """The page as it shows before any <details> is opened."""
    return re.sub(r"<details(?![^>]*\bopen\b)[^>]*>.*?</details>", "", page, flags=re.DOTALL)


def _build(tmp_path: Path, run_id: str, deliveries: int, published: bool, **facts) -> Path:
    work = _work_db(tmp_path / f"{run_id}.duckdb", run_id, deliveries, failing=not published)
    run = RunFacts(run_id, AS_OF, "2026.05-1", published=published, **facts)
    return build_report(work, tmp_path / "warehouse" / "crm.duckdb", run)


@pytest.fixture(scope="module")
def failed_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp_path = tmp_path_factory.mktemp("report")
    started = datetime(2026, 6, 1, 6, 0, 5)
    report = _build(
        tmp_path,
        FAILED_RUN,
        500,
        published=False,
        messages=(CHECK_MESSAGE, STEP_MESSAGE, OTHER_MESSAGE),
        started_at=started,
    )
    return report, report.read_text(encoding="utf-8")


def test_the_top_of_the_report_gives_status_times_counts_and_the_failures(failed_report):
    report, page = failed_report
    summary = json.loads((report.parent / "run.json").read_text(encoding="utf-8"))
    written = datetime.fromisoformat(summary["report_written_at"])
    assert summary == {
        "run_id": FAILED_RUN,
        "as_of": "2026-05-31",
        "status": "failed",
        "published": False,
        "config_version": "2026.05-1",
        "started_at": "2026-06-01T06:00:05",
        "report_written_at": summary["report_written_at"],
        "run_seconds": round((written - datetime(2026, 6, 1, 6, 0, 5)).total_seconds()),
        "files_loaded": 500,
        "rows_in_files": 50_000,
        "rows_loaded": 49_975,
        "rows_quarantined": 25,
        "checks_run": 42,
        "checks_failed": 2,
        "checks_warned": 1,
    }
    head = page[: page.index('<section id="reconciliation">')]
    top = _text(head)
    assert top.startswith("Audit report — as of 2026-05-31 Failed. Not published: the warehouse")
    assert "status failed as-of date 2026-05-31 started 2026-06-01 06:00:05 report written" in top
    assert (
        "files loaded rows loaded rows quarantined checks run checks failed checks warned "
        "500 49,975 25 42 2 1"
    ) in top
    assert (
        "The 50,000 rows of the files loaded are the rows loaded plus the rows quarantined." in top
    )
    # the failures come before everything else, blocking ones first
    (listed,) = re.findall(r'<table id="failed-checks">.*?</table>', head, flags=re.DOTALL)
    assert re.findall(r'<tr><td class="(fail|warn)">', listed) == ["fail", "fail", "warn"]


def test_each_failed_check_is_listed_once_and_in_full(failed_report):
    _, page = failed_report
    text = _text(page)
    assert page.count('<td class="fail">FAIL</td>') == 2
    assert page.count('<td class="warn">WARN</td>') == 1
    (listed,) = re.findall(r'<table id="failed-checks">.*?</table>', page, flags=re.DOTALL)
    rows = re.findall(r"<tr><td class=.*?</tr>", listed, flags=re.DOTALL)
    assert [_text(r) for r in rows] == [
        "FAIL great_expectations credit_flags expect_column_values_to_be_between ar_balance "
        "40 40 max_value = -1000000000000.0",
        "FAIL reconciliation customer_tiers net_sales_12m_total published 1,250.50, "
        "from the extracts 1,000.25: they differ by 250.25",
        "WARN great_expectations credit_flags expect_column_values_to_not_be_null dso 40 7",
    ]
    # the run's messages that only restate those checks (one of them cut short) are not
    # repeated; any other message is shown, once
    assert "DagsterAssetCheckFailedError" not in text
    assert "check gx_credit_flags on" not in text
    assert text.count(OTHER_MESSAGE) == 1
    assert text.count("expect_column_values_to_be_between") == 1
    # the reconciliation figures stay together in their own table, the failed one marked
    assert "differs customer_tiers net_sales_12m_total 1,250.50 1,000.25 250.25" in text
    assert text.count("net_sales_12m_total") == 2


def test_long_lists_are_summarised_and_collapsed(failed_report, tmp_path: Path):
    report, page = failed_report
    shown = _collapsed_removed(page)
    details = re.findall(r"<details[^>]*>", page)
    assert details == [
        '<details id="delivery-list">',
        '<details id="reject-list">',
        '<details id="passed-checks">',
    ]
    # every delivery, rejected row and passed check is in the page, collapsed
    assert page.count("<td>sales/sales_") == 300 + 24  # the list, the 24 problems
    assert "sales/sales_" not in shown
    assert "col_12" in _text(page) and "col_12" not in _text(shown)
    assert "table_0" not in _text(shown)
    # what shows: the per extract summary and the reasons
    text = _text(shown)
    assert (
        "extract files business dates rows loaded quarantined "
        "payments 200 2025-11-13 to 2026-05-31 20,000 19,995 5 "
        "sales 300 2025-08-05 to 2026-05-31 30,000 29,980 20"
    ) in text
    assert (
        "25 rows rejected on arrival by this run, with 29 problems (one per rule a row breaks: "
        "a row can break several, and counts under each of its reasons below)."
    ) in text
    assert (
        "extract column reason rows payments quantity not a number 5 "
        "sales quantity not a number 20 sales customer_id missing value 4"
    ) in text
    assert "42 checks run: 39 passed, 2 failed, 1 warned." in text
    # and the CSVs beside it hold the whole lists
    folder = report.parent
    assert len((folder / "deliveries.csv").read_text().splitlines()) == 1 + 500
    assert len((folder / "rejected_rows.csv").read_text().splitlines()) == 1 + 29
    assert len((folder / "checks.csv").read_text().splitlines()) == 1 + 42
    # the page as shown is as long with 20 deliveries as with 500
    small = _build(tmp_path, FAILED_RUN, 20, published=False, started_at=datetime.now())
    small_shown = _collapsed_removed(small.read_text(encoding="utf-8"))
    assert shown.count("<tr") == small_shown.count("<tr") < 60


def test_rows_rejected_in_files_the_run_did_not_load_are_told_apart(tmp_path: Path):
    work = _work_db(tmp_path / "work.duckdb", FAILED_RUN, 20, failing=True)
    with duckdb.connect(str(work)) as con:
        con.execute(
            "insert into raw.rejected_rows (extract, file_name, line_number, column_name, "
            "reason, run_id) values ('payments', 'payments/payments_20240101.csv', 7, "
            "'amount', 'missing value', ?)",
            [FAILED_RUN],
        )
    run = RunFacts(FAILED_RUN, AS_OF, "2026.05-1", False, started_at=datetime.now())
    report = build_report(work, tmp_path / "warehouse" / "crm.duckdb", run)
    assert (
        "26 rows rejected on arrival by this run, with 30 problems (one per rule a row breaks: "
        "a row can break several, and counts under each of its reasons below); the deliveries "
        "above count 25 rows quarantined: 1 of the rows rejected is in files this run did not "
        "load."
    ) in _text(report.read_text(encoding="utf-8"))


def test_tables_fit_the_page(failed_report):
    _, page = failed_report
    assert "table-layout: fixed" in page and "overflow-wrap: break-word" in page
    for colgroup in re.findall(r"<colgroup>(.*?)</colgroup>", page, flags=re.DOTALL):
        widths = [int(w) for w in re.findall(r"width:(\d+)%", colgroup)]
        assert sum(widths) == 100, colgroup


def test_the_ar_difference_is_explained_with_its_amount(failed_report):
    _, page = failed_report
    text = _text(page)
    assert (
        "Open AR 10,000.00 CNY, 40.0% of it past due. That is 150.25 CNY more than the AR "
        "balance of 9,849.75 CNY reconciled above: the balance nets off 150.25 CNY of "
        "unapplied credit (receipts and credit notes not applied to an invoice), which ages "
        "in no bucket."
    ) in text
    assert (
        "open AR in the aging buckets 10,000.00 CNY less unapplied credit (receipts and credit "
        "notes not applied to an invoice) 150.25 CNY AR balance (ar_balance_total) 9,849.75 CNY"
    ) in text


def test_the_report_list_shows_status_and_times_newest_first(tmp_path: Path):
    started = datetime.now() - timedelta(seconds=95)
    _build(tmp_path, PUBLISHED_RUN, 30, published=True, started_at=started - timedelta(days=1))
    failed = _build(tmp_path, FAILED_RUN, 30, published=False, started_at=started)
    # a report written before run.json existed: its status as its page says it
    warehouse = tmp_path / "warehouse" / "crm.duckdb"
    legacy = report_folder(warehouse, date(2026, 4, 30), "33333333-cccc-4ccc-8ccc-000000000003")
    legacy.mkdir()
    (legacy / "index.html").write_text('<p class="status blocked" id="status">Not published</p>')
    last = datetime.now() - timedelta(seconds=5)
    build_report(
        _work_db(tmp_path / "last.duckdb", "44444444-dddd", 10, failing=False),
        warehouse,
        RunFacts("44444444-dddd", AS_OF, "2026.05-1", published=True, started_at=last),
    )

    page = (reports_dir(warehouse) / "index.html").read_text(encoding="utf-8")
    rows = [_text(r) for r in re.findall(r"<tr class=.*?</tr>", page, flags=re.DOTALL)]
    summary = json.loads((failed.parent / "run.json").read_text(encoding="utf-8"))
    assert 95 <= summary["run_seconds"] < 150
    minutes, seconds = divmod(summary["run_seconds"], 60)
    assert len(rows) == 4
    assert rows[0].startswith(f"published 2026-05-31 {last:%Y-%m-%d %H:%M:%S} ")
    assert rows[0].endswith(" yes 40 0 0 25 44444444")
    assert rows[1].startswith("failed 2026-04-30 not recorded ")
    assert rows[1].endswith(" no 33333333")
    assert rows[2] == (
        f"failed 2026-05-31 {started:%Y-%m-%d %H:%M:%S} {minutes} min {seconds:02d} s "
        f"{summary['report_written_at'].replace('T', ' ')} no 42 2 1 25 22222222"
    )
    assert rows[3].startswith(
        f"published 2026-05-31 {started - timedelta(days=1):%Y-%m-%d %H:%M:%S} 24 h 01 min "
    )
    assert rows[3].endswith(" yes 40 0 0 25 11111111")
    # a failed run stands out: its own row style and badge
    assert page.count('<tr class="failed">') == 2
    assert page.count('<tr class="published">') == 2


def test_a_report_of_an_unreadable_working_database_lists_the_messages(tmp_path: Path):
    work = tmp_path / "broken.duckdb"
    work.write_bytes(b"not a database" * 100)
    odd = "raw_extracts: sales/sales_2026 'x' <b>.csv & more"
    run = RunFacts(
        FAILED_RUN, AS_OF, "2026.05-1", False, (OTHER_MESSAGE, odd), started_at=datetime.now()
    )
    report = build_report(work, tmp_path / "warehouse" / "crm.duckdb", run)
    page = report.read_text(encoding="utf-8")
    text = _text(page)
    assert f"What stopped the run {OTHER_MESSAGE} {odd}" in text
    # a message is text, never markup; its apostrophes stay as they are
    assert "<li>raw_extracts: sales/sales_2026 'x' &lt;b&gt;.csv &amp; more</li>" in page
    assert "0 0 0 0 0 0" in text
    assert json.loads((report.parent / "run.json").read_text())["status"] == "failed"
