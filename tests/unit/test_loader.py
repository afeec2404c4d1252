"""Ingestion: contract checks per row and per file, encodings, exactly-once loading."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.defs.ingestion.ingest import FileRejected, IngestOptions, ingest

SALES_HEADER = (
    "order_id,line_no,order_date,customer_id,product_id,quantity,unit_price,"
    "discount_amount,net_amount,cost_amount,sales_rep_id,promotion_id"
)
CUSTOMERS = (
    "customer_id,customer_name,customer_type,status,region,province,city,sales_rep_id,"
    "onboarding_date,payment_terms_days,deposit_amount,contact_name,phone,address,"
    "legal_representative\n"
    "000001,上海鑫盛食品商贸有限公司,distributor,active,east,上海,上海,R001,2020-01-01,30,"
    "1000.00,王伟,13800000000,上海市福源路1号,李强\n"
)
PRODUCTS = (
    "product_id,product_name,category,price_tier,unit,list_price,unit_cost,launch_date\n"
    "P00001,乳制品优选001,dairy,mid,箱,65.00,40.00,2020-01-01\n"
)
PAYMENTS = (
    "doc_id,doc_type,customer_id,doc_date,due_date,amount,method,reference_doc_id,"
    "status\nINV1,invoice,000001,2026-03-02,2026-04-01,100.00,,,posted\n"
)
INVENTORY = "snapshot_date,customer_id,product_id,quantity_on_hand\n2026-02-28,DC,P00001,10\n"


def _write(root: Path, extract: str, day: str, text: str, encoding: str = "utf-8") -> Path:
    path = root / extract / f"{extract}_{day}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    _write(root, "customers", "20260302", CUSTOMERS)
    _write(root, "products", "20260302", PRODUCTS)
    _write(root, "payments", "20260302", PAYMENTS)
    _write(root, "inventory", "20260228", INVENTORY)
    return root


def _rejected(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select file_name, line_number, column_name, reason from raw.rejected_rows "
        "order by line_number, column_name"
    ).fetchall()


def test_bad_rows_are_quarantined_with_line_column_and_reason(landing: Path):
    _write(
        landing,
        "sales",
        "20260302",
        "\n".join(
            [
                SALES_HEADER,
                "SO1,1,2026-03-02,000001,P00001,2,65.00,10.00,120.00,80.00,R001,PROMO1",  # good
                "SO1,2,2026-03-02,000001,P00001,2,65.00,0.00,120.00,80.00,R001,",  # 130 != 120
                "SO1,1,2026-03-02,000001,P00001,1,65.00,0.00,65.00,40.00,R001,",  # duplicate key
                "SO2,1,2026/03/02,000001,P00001,1,65.00,0.00,65.00,40.00,R001,",  # bad date
                "SO3,1,2026-03-02,,P00001,1,65.00,0.00,65.00,40.00,R001,",  # missing customer
                "SO4,1,2026-03-02,000001,P00001,1,6x.00,0.00,65.00,40.00,R001,",  # bad number
                "SO5,1,2026-03-01,000001,P00001,1,65.00,0.00,65.00,40.00,R001,",  # other date
                "SO6,1,2026-03-02,000001,P00001",  # cut-off last line
            ]
        )
        + "\n",
    )
    con = duckdb.connect()
    report = ingest(con, landing, date(2026, 3, 2), "run-1")
    assert report.totals("sales") == (1, 7)
    sales = [f for f in report.files if f["extract"] == "sales"][0]
    assert sales["rows_in_file"] == sales["accepted_rows"] + sales["rejected_rows"] == 8
    rejected = _rejected(con)
    f = "sales/sales_20260302.csv"
    assert (
        f,
        3,
        "net_amount",
        "net_amount differs from quantity x unit_price - discount_amount by more than 0.01",
    ) in rejected
    assert (
        f,
        4,
        "order_id,line_no",
        "duplicate key (an earlier line has the same key)",
    ) in rejected
    assert (f, 5, "order_date", "not a date as YYYY-MM-DD") in rejected
    assert (f, 6, "customer_id", "missing value") in rejected
    assert (f, 7, "unit_price", "not an amount with at most 2 decimals") in rejected
    assert (f, 8, "order_date", "date differs from the business date in the file name") in rejected
    assert (f, 9, "*", "line has fewer fields than the header (cut off?)") in rejected
    assert {line for _, line, _, _ in rejected} == {3, 4, 5, 6, 7, 8, 9}
    assert con.execute(
        "select order_id, line_no, net_amount::varchar, customer_id from raw.sales"
    ).fetchall() == [("SO1", 1, "120.00", "000001")]


def test_gb18030_with_chinese_text_loads_like_utf8(tmp_path: Path, landing: Path):
    _write(
        landing,
        "sales",
        "20260302",
        SALES_HEADER + "\nSO1,1,2026-03-02,000001,P00001,2,65.00,10.00,120.00,80.00,R001,\n",
    )
    twin = tmp_path / "twin"
    for extract, day, text in [
        ("customers", "20260302", CUSTOMERS),
        ("products", "20260302", PRODUCTS),
        ("payments", "20260302", PAYMENTS),
        ("inventory", "20260228", INVENTORY),
    ]:
        _write(twin, extract, day, text, encoding="gb18030")
    _write(
        twin,
        "sales",
        "20260302",
        SALES_HEADER + "\nSO1,1,2026-03-02,000001,P00001,2,65.00,10.00,120.00,80.00,R001,\n",
        "gb18030",
    )
    utf, gb = duckdb.connect(), duckdb.connect()
    ingest(utf, landing, date(2026, 3, 2), "r")
    ingest(gb, twin, date(2026, 3, 2), "r")
    query = "select * exclude (_run_id, _file_sha256) from raw.customers"
    assert gb.execute(query).fetchall() == utf.execute(query).fetchall()
    assert gb.execute("select address from raw.customers").fetchone()[0] == "上海市福源路1号"


def test_same_content_twice_changes_nothing_and_a_correction_replaces_the_date(landing: Path):
    first = SALES_HEADER + "\nSO1,1,2026-03-02,000001,P00001,2,65.00,10.00,120.00,80.00,R001,\n"
    _write(landing, "sales", "20260302", first)
    con = duckdb.connect()
    ingest(con, landing, date(2026, 3, 2), "run-1")
    again = ingest(con, landing, date(2026, 3, 2), "run-2")
    assert again.files == [] and again.skipped_unchanged == 5
    corrected = first.replace("2,65.00,10.00,120.00", "3,65.00,10.00,185.00")
    _write(landing, "sales", "20260302", corrected)
    report = ingest(con, landing, date(2026, 3, 2), "run-3")
    assert [f["file_name"] for f in report.files] == ["sales/sales_20260302.csv"]
    assert con.execute("select quantity::int, net_amount::varchar from raw.sales").fetchall() == [
        (3, "185.00")
    ]
    versions = con.execute(
        "select run_id, is_current from raw.delivery_manifest "
        "where file_name = 'sales/sales_20260302.csv' order by loaded_at"
    ).fetchall()
    assert versions == [("run-1", False), ("run-3", True)]


def test_missing_required_column_rejects_the_file_and_loads_nothing(landing: Path):
    _write(
        landing,
        "sales",
        "20260302",
        SALES_HEADER.replace("net_amount,", "") + "\n"
        "SO1,1,2026-03-02,000001,P00001,2,65.00,10.00,80.00,R001,\n",
    )
    con = duckdb.connect()
    with pytest.raises(
        FileRejected,
        match=r"sales/sales_20260302\.csv: required column\(s\) "
        r"net_amount missing",
    ):
        ingest(con, landing, date(2026, 3, 2), "run-1")
    assert con.execute("select count(*) from raw.customers").fetchone()[0] == 0
    assert con.execute("select count(*) from raw.delivery_manifest").fetchone()[0] == 0


def test_files_after_the_as_of_date_wait(landing: Path):
    _write(
        landing,
        "sales",
        "20260302",
        SALES_HEADER + "\nSO1,1,2026-03-02,000001,P00001,2,65.00,10.00,120.00,80.00,R001,\n",
    )
    _write(
        landing,
        "sales",
        "20260303",
        SALES_HEADER + "\nSO2,1,2026-03-03,000001,P00001,1,65.00,0.00,65.00,40.00,R001,\n",
    )
    con = duckdb.connect()
    ingest(con, landing, date(2026, 3, 2), "run-1")
    assert con.execute("select list(order_id) from raw.sales").fetchone()[0] == ["SO1"]
    ingest(con, landing, date(2026, 3, 3), "run-2")
    assert sorted(con.execute("select list(order_id) from raw.sales").fetchone()[0]) == [
        "SO1",
        "SO2",
    ]


def test_a_required_extract_that_never_landed_is_named(landing: Path):
    con = duckdb.connect()
    with pytest.raises(FileRejected, match="no sales extract has landed on or before 2026-03-02"):
        ingest(con, landing, date(2026, 3, 2), "run-1")


def test_keys_already_delivered_in_another_file_are_rejected(landing: Path):
    _write(
        landing,
        "sales",
        "20260302",
        SALES_HEADER + "\nSO1,1,2026-03-02,000001,P00001,2,65.00,10.00,120.00,80.00,R001,\n",
    )
    con = duckdb.connect()
    ingest(con, landing, date(2026, 3, 2), "run-1")
    _write(
        landing,
        "sales",
        "20260303",
        SALES_HEADER + "\n"
        "SO1,1,2026-03-03,000001,P00001,1,65.00,0.00,65.00,40.00,R001,\n"
        "SO2,1,2026-03-03,000001,P00001,1,65.00,0.00,65.00,40.00,R001,\n",
    )
    report = ingest(con, landing, date(2026, 3, 3), "run-2")
    assert report.totals("sales") == (1, 1)
    assert _rejected(con) == [
        (
            "sales/sales_20260303.csv",
            2,
            "order_id,line_no",
            "duplicate key (already delivered in sales/sales_20260302.csv)",
        )
    ]


def test_references_to_unknown_master_data_are_rejected_but_dc_stock_is_not(landing: Path):
    _write(
        landing,
        "sales",
        "20260302",
        SALES_HEADER + "\nSO1,1,2026-03-02,000002,P00001,2,65.00,10.00,120.00,80.00,R001,\n",
    )
    _write(landing, "inventory", "20260228", INVENTORY + "2026-02-28,000001,P00009,4\n")
    con = duckdb.connect()
    ingest(con, landing, date(2026, 3, 2), "run-1")
    assert _rejected(con) == [
        (
            "sales/sales_20260302.csv",
            2,
            "customer_id",
            "unknown customer (not in any customers snapshot delivered so far)",
        ),
        (
            "inventory/inventory_20260228.csv",
            3,
            "product_id",
            "unknown product (not in any products snapshot delivered so far)",
        ),
    ]
    assert con.execute("select customer_id from raw.inventory").fetchall() == [("DC",)]


def test_erp_headers_are_mapped_to_the_contract(landing: Path):
    from pipelines.config import load_header_map
    from pipelines.contract import EXTRACTS
    from pipelines.defs.ingestion.ingest import IngestOptions
    from pipelines.settings import PROJECT_ROOT

    header_map = load_header_map(PROJECT_ROOT / "config" / "header_map.yaml", list(EXTRACTS))
    chinese = (
        "订单号,行号,订单日期,客户编码,产品编码,数量,单价,折扣金额,金额,成本金额,业务员,促销编码"
    )
    _write(
        landing,
        "sales",
        "20260302",
        chinese + "\nSO1,1,2026-03-02,000001,P00001,2,65.00,10.00,120.00,80.00,R001,\n",
        "gb18030",
    )
    con = duckdb.connect()
    ingest(con, landing, date(2026, 3, 2), "run-1", IngestOptions(header_map=header_map))
    assert con.execute(
        "select order_id, net_amount::varchar, sales_rep_id from raw.sales"
    ).fetchall() == [("SO1", "120.00", "R001")]


def test_an_unknown_header_map_section_is_refused(tmp_path: Path):
    from pipelines.config import load_header_map

    path = tmp_path / "map.yaml"
    path.write_text("sale:\n  金额: net_amount\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown section\(s\) \['sale'\]"):
        load_header_map(path, ["sales"])


def test_absent_optional_extracts_are_reported_and_fail_nothing(landing: Path):
    _write(landing, "sales", "20260302", SALES_HEADER + "\n")  # a day without sales is fine
    con = duckdb.connect()
    report = ingest(con, landing, date(2026, 3, 2), "run-1")
    assert report.missing_optional == ["prospects", "complaints", "credit_reviews", "targets"]
    assert con.execute("select count(*) from raw.prospects").fetchone()[0] == 0
    assert con.execute("select count(*) from raw.credit_reviews").fetchone()[0] == 0
    assert report.totals("sales") == (0, 0)


def test_credit_reviews_load_and_a_score_out_of_range_is_quarantined(landing: Path):
    _write(landing, "sales", "20260302", SALES_HEADER + "\n")
    header = (
        "customer_id,review_date,operating_score,financial_score,payment_score,"
        "has_guarantor,collateral_amount,reviewer_id"
    )
    _write(
        landing,
        "credit_reviews",
        "20260302",
        "\n".join(
            [
                header,
                "000001,2026-03-02,82,75,90,true,50000.00,CR01",
                "000001,2026-03-02,80,70,88,false,0.00,CR02",  # same customer and date
                "000001,2026-03-02,82,75,140,false,0.00,CR01",  # payment score above 100
            ]
        )
        + "\n",
    )
    con = duckdb.connect()
    report = ingest(con, landing, date(2026, 3, 2), "run-1")
    assert "credit_reviews" not in report.missing_optional
    assert report.totals("credit_reviews") == (1, 2)
    assert con.execute(
        "select customer_id, review_date, operating_score, financial_score, payment_score, "
        "has_guarantor, collateral_amount::varchar, reviewer_id from raw.credit_reviews"
    ).fetchall() == [("000001", date(2026, 3, 2), 82, 75, 90, "true", "50000.00", "CR01")]
    f = "credit_reviews/credit_reviews_20260302.csv"
    assert [r for r in _rejected(con) if r[0] == f] == [
        (f, 3, "customer_id,review_date", "duplicate key (an earlier line has the same key)"),
        (f, 4, "customer_id,review_date", "duplicate key (an earlier line has the same key)"),
        (f, 4, "payment_score", "above the maximum 100"),
    ]


def test_targets_load_with_or_without_the_product_column(landing: Path):
    # the contract's minimum header (no product_id) still loads; with it, product targets load,
    # and a row must name exactly one of customer, region or product
    _write(landing, "sales", "20260302", SALES_HEADER + "\n")
    _write(
        landing,
        "targets",
        "20260101",
        "period,customer_id,region,target_net_sales\n2026-03,000001,,100.00\n2026-03,,east,50.00\n",
    )
    _write(
        landing,
        "targets",
        "20260301",
        "\n".join(
            [
                "period,customer_id,region,product_id,target_net_sales",
                "2026-03,,,P00001,70.00",  # product target
                "2026-03,000001,,P00001,80.00",  # two of the three
                "2026-03,,,,90.00",  # none
                "2026-03,,,P99999,10.00",  # unknown product
            ]
        )
        + "\n",
    )
    con = duckdb.connect()
    ingest(con, landing, date(2026, 3, 2), "run-1")
    loaded = con.execute(
        "select _file_name, period, customer_id, region, product_id, target_net_sales::varchar "
        "from raw.targets order by _file_name, _line_number"
    ).fetchall()
    assert loaded == [
        ("targets/targets_20260101.csv", "2026-03", "000001", None, None, "100.00"),
        ("targets/targets_20260101.csv", "2026-03", None, "east", None, "50.00"),
        ("targets/targets_20260301.csv", "2026-03", None, None, "P00001", "70.00"),
    ]
    assert [r for r in _rejected(con) if r[0].startswith("targets/")] == [
        (
            "targets/targets_20260301.csv",
            3,
            "customer_id",
            "needs exactly one of customer_id, region or product_id",
        ),
        (
            "targets/targets_20260301.csv",
            4,
            "customer_id",
            "needs exactly one of customer_id, region or product_id",
        ),
        (
            "targets/targets_20260301.csv",
            5,
            "product_id",
            "unknown product (not in any products snapshot delivered so far)",
        ),
    ]


def test_an_older_working_database_gets_new_contract_columns(landing: Path):
    # raw.targets as created before product targets existed (columns in another order, too)
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(
        "create table raw.targets (period varchar, customer_id varchar, region varchar, "
        "target_net_sales decimal(18, 2), _file_name varchar, _line_number integer, "
        "_business_date date, _file_sha256 varchar, _run_id varchar)"
    )
    _write(landing, "sales", "20260302", SALES_HEADER + "\n")
    _write(
        landing,
        "targets",
        "20260301",
        "period,customer_id,region,product_id,target_net_sales\n2026-03,,,P00001,70.00\n",
    )
    ingest(con, landing, date(2026, 3, 2), "run-1")
    assert con.execute(
        "select product_id, target_net_sales::varchar, _line_number from raw.targets"
    ).fetchall() == [("P00001", "70.00", 2)]


def test_loading_a_file_at_a_time_gives_what_loading_all_at_once_gives(tmp_path: Path):
    """A first load of years of history is validated and written in groups of files; the
    groups change nothing of what is loaded or quarantined."""
    from pipelines.contract import EXTRACTS
    from pipelines.defs.ingestion.ingest import IngestOptions
    from pipelines.demo.generator import DemoSpec, generate

    landing = tmp_path / "landing"
    generate(landing, DemoSpec(customers=20, days=40, end_date=date(2026, 3, 31), seed=5))
    whole, grouped = duckdb.connect(), duckdb.connect()
    ingest(whole, landing, date(2026, 3, 31), "run-1")
    ingest(grouped, landing, date(2026, 3, 31), "run-1", IngestOptions(chunk_rows=1))
    for table in [*EXTRACTS, "rejected_rows"]:
        query = f"select * from raw.{table} order by all"
        rows = whole.execute(query).fetchall()
        assert rows == grouped.execute(query).fetchall(), table
    assert whole.execute("select count(*) from raw.sales").fetchone()[0] > 100
    query = "select * exclude (loaded_at) from raw.delivery_manifest order by all"
    assert whole.execute(query).fetchall() == grouped.execute(query).fetchall()


def test_a_file_refused_in_a_later_group_undoes_the_whole_load(landing: Path):
    from pipelines.defs.ingestion.ingest import IngestOptions

    line = "SO{n},1,2026-03-0{n},000001,P00001,2,65.00,10.00,120.00,80.00,R001,\n"
    _write(landing, "sales", "20260301", SALES_HEADER + "\n" + line.format(n=1))
    _write(landing, "sales", "20260302", SALES_HEADER.replace("net_amount,", "") + "\n"
           "SO2,1,2026-03-02,000001,P00001,2,65.00,10.00,80.00,R001,\n")  # fmt: skip
    con = duckdb.connect()
    with pytest.raises(FileRejected, match=r"sales_20260302\.csv: required column"):
        ingest(con, landing, date(2026, 3, 2), "run-1", IngestOptions(chunk_rows=1))
    for table in ("customers", "sales", "rejected_rows", "delivery_manifest"):
        assert con.execute(f"select count(*) from raw.{table}").fetchone()[0] == 0, table


def test_a_load_is_recorded_after_every_earlier_one_even_if_the_clock_went_back(landing: Path):
    """The compact sales facts rebuild the days loaded after their last build, by the
    manifest's loaded_at: it must grow from load to load whatever the wall clock does."""
    line = "SO1,1,2026-03-02,000001,P00001,2,65.00,10.00,120.00,80.00,R001,\n"
    _write(landing, "sales", "20260302", SALES_HEADER + "\n" + line)
    con = duckdb.connect()
    ingest(con, landing, date(2026, 3, 2), "run-1")
    con.execute("update raw.delivery_manifest set loaded_at = timestamp '2099-01-01 00:00:00'")
    _write(landing, "payments", "20260303", PAYMENTS.replace("INV1", "INV2").replace(
        "2026-03-02", "2026-03-03"))  # fmt: skip
    ingest(con, landing, date(2026, 3, 3), "run-2")
    assert con.execute(
        "select loaded_at::varchar from raw.delivery_manifest where run_id = 'run-2'"
    ).fetchall() == [("2099-01-01 00:00:00.000001",)]


def test_a_key_repeated_across_groups_of_a_redelivery_is_quarantined(landing: Path):
    """A run that re-delivers one day and delivers another, read in separate groups: a key
    of the new day already written from the re-delivered day is a duplicate."""
    from pipelines.defs.ingestion.ingest import IngestOptions

    line = "SO1,1,{day},000001,P00001,2,65.00,10.00,120.00,80.00,R001,\n"
    first = _write(
        landing, "sales", "20260302", SALES_HEADER + "\n" + line.format(day="2026-03-02")
    )
    con = duckdb.connect()
    ingest(con, landing, date(2026, 3, 2), "run-1")
    first.write_text(first.read_text() + line.format(day="2026-03-02").replace("SO1,1", "SO0,1"))
    _write(landing, "sales", "20260303", SALES_HEADER + "\n" + line.format(day="2026-03-03"))
    ingest(con, landing, date(2026, 3, 3), "run-2", IngestOptions(chunk_rows=1))
    assert con.execute(
        "select order_id, order_date::varchar from raw.sales order by 1"
    ).fetchall() == [
        ("SO0", "2026-03-02"),
        ("SO1", "2026-03-02"),
    ]
    assert _rejected(con) == [
        ("sales/sales_20260303.csv", 2, "order_id,line_no",
         "duplicate key (already delivered in sales/sales_20260302.csv)"),
    ]  # fmt: skip


def test_a_key_repeated_in_later_groups_and_runs_keeps_its_first_delivery(landing: Path):
    """SO1 was delivered on the 2nd; a later run delivers it again on the 3rd and the 4th,
    read in separate groups: both repeats are quarantined naming the first delivery, and
    the files' counts say so."""
    from pipelines.defs.ingestion.ingest import IngestOptions

    line = "{order},1,{day},000001,P00001,2,65.00,10.00,120.00,80.00,R001,\n"
    _write(
        landing,
        "sales",
        "20260302",
        SALES_HEADER + "\n" + line.format(order="SO1", day="2026-03-02"),
    )
    con = duckdb.connect()
    ingest(con, landing, date(2026, 3, 2), "run-1")
    for day, other in (("03", "SO2"), ("04", "SO3")):
        _write(
            landing,
            "sales",
            f"202603{day}",
            SALES_HEADER
            + "\n"
            + line.format(order="SO1", day=f"2026-03-{day}")
            + line.format(order=other, day=f"2026-03-{day}"),
        )
    report = ingest(con, landing, date(2026, 3, 4), "run-2", IngestOptions(chunk_rows=1))
    assert [(f["file_name"], f["accepted_rows"], f["rejected_rows"]) for f in report.files] == [
        ("sales/sales_20260303.csv", 1, 1),
        ("sales/sales_20260304.csv", 1, 1),
    ]
    assert con.execute(
        "select order_id, order_date::varchar from raw.sales order by 1"
    ).fetchall() == [("SO1", "2026-03-02"), ("SO2", "2026-03-03"), ("SO3", "2026-03-04")]
    assert _rejected(con) == [
        ("sales/sales_20260303.csv", 2, "order_id,line_no",
         "duplicate key (already delivered in sales/sales_20260302.csv)"),
        ("sales/sales_20260304.csv", 2, "order_id,line_no",
         "duplicate key (already delivered in sales/sales_20260302.csv)"),
    ]  # fmt: skip
    assert con.execute(
        "select file_name, rows_in_file, accepted_rows, rejected_rows from raw.delivery_manifest "
        "where run_id = 'run-2' order by 1"
    ).fetchall() == [
        ("sales/sales_20260303.csv", 2, 1, 1),
        ("sales/sales_20260304.csv", 2, 1, 1),
    ]


def test_a_file_mostly_of_keys_already_delivered_is_refused_whole(landing: Path):
    """25 lines of which 10 repeat keys delivered the day before (40%, more than the 20%
    allowed): the file is refused, named, with the reason, and nothing of the run stays."""
    line = "SO{n},1,{day},000001,P00001,2,65.00,10.00,120.00,80.00,R001,\n"
    _write(
        landing,
        "sales",
        "20260302",
        SALES_HEADER + "\n" + "".join(line.format(n=n, day="2026-03-02") for n in range(10)),
    )
    con = duckdb.connect()
    ingest(con, landing, date(2026, 3, 2), "run-1")
    _write(
        landing,
        "sales",
        "20260303",
        SALES_HEADER + "\n" + "".join(line.format(n=n, day="2026-03-03") for n in range(25)),
    )
    with pytest.raises(
        FileRejected,
        match=r"sales/sales_20260303\.csv: 10 of 25 rows \(40%\) break the contract.*"
        r"order_id,line_no: duplicate key \(already delivered in sales/sales_20260302\.csv\) "
        r"\(10 rows\)",
    ):
        ingest(con, landing, date(2026, 3, 3), "run-2")
    assert con.execute("select count(*) from raw.sales").fetchone() == (10,)
    assert con.execute("select count(*) from raw.rejected_rows").fetchone() == (0,)
    assert con.execute(
        "select count(*) from raw.delivery_manifest where run_id = 'run-2'"
    ).fetchone() == (0,)


def test_unquoted_files_split_by_polars_as_the_csv_module_splits_them():
    """Files without quoting take a vectorised reader: for every such text it gives the
    header, fields and line numbers the csv-module reader gives (blank and whitespace-only
    lines skipped, ragged lines kept whole, CRLF, Unicode spaces, no final newline)."""
    import random

    from pipelines.defs.ingestion.reading import _is_plain, _split_plain, _split_quoted

    landed = type("Landed", (), {"file_name": "sales/sales_20260302.csv"})()
    pieces = ["a", "1", "上海", ",", ",", " ", "\t", "\u3000", "\n", "\n", "\r\n", "\n\n", ",,\n"]
    rng = random.Random(7)
    texts = ["h1,h2\nx,y\n", "\n\nh1,h2\r\n ,\n\nx,y,z\nw", "h\n,,,\n \u3000\nv \u3000\n"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 60))) for _ in range(400)]
    compared = 0
    for text in texts:
        assert _is_plain(text)
        header, rows = _split_plain(text)
        expected_header, expected_rows = _split_quoted(text, landed)
        assert header == expected_header, repr(text)
        assert rows.to_dicts() == expected_rows.to_dicts(), repr(text)
        compared += expected_rows.height
    assert compared > 500
    assert not _is_plain('a,b\n"x,1",2\n') and not _is_plain("a\rb") and not _is_plain("a\x00")


def test_a_snapshot_without_its_header_line_is_refused_without_repeating_its_cells():
    from pipelines.contract import EXTRACTS
    from pipelines.defs.ingestion.reading import _contract_header

    # the first data row taken for the header: its cells are a customer's personal data
    row = "000011,ZZLEAK-NAME-123,retailer,active,east,上海,上海,R001,2020-01-01,30,0,ZZLEAK-CONTACT,13999999999,ZZLEAK-ADDR,ZZLEAK-LEGAL"
    with pytest.raises(FileRejected) as refused:
        _contract_header(row.split(","), EXTRACTS["customers"], {}, "customers_20260331.csv")
    message = str(refused.value)
    assert message.startswith("customers_20260331.csv: required column(s) customer_id, ")
    assert "missing from the header (recognised: none; 15 other cell(s), not shown" in message
    for cell in row.split(","):
        assert len(cell) < 3 or cell not in message
    # a header that lacks one column names what it recognised, which are column names
    header = "customer_id,customer_name,customer_type,status".split(",")
    with pytest.raises(
        FileRejected,
        match=r"legal_representative missing from the header \(recognised: "
        r"customer_id, customer_name, customer_type, status; 0 other cell",
    ):
        _contract_header(header, EXTRACTS["customers"], {}, "customers_20260331.csv")


def test_cells_the_storage_types_cannot_hold_are_quarantined_not_a_crash(landing: Path):
    rows = [
        "SO1,1,2026-03-02,000001,P00001,2,65.00,10.00,120.00,80.00,R001,",  # good
        "SO2,1,2026-03-02,000001,P00001,1,６５.００,0.00,65.00,40.00,R001,",  # full-width
        "SO3,1,2026-03-02,000001,P00001,١,65.00,0.00,65.00,40.00,R001,",  # Arabic-Indic
        f"SO4,1,2026-03-02,000001,P00001,1,1{'0' * 20}.00,0.00,1{'0' * 20},40.00,R001,",
        "SO5,3000000000,2026-03-02,000001,P00001,1,65.00,0.00,65.00,40.00,R001,",
        "SO6,2147483647,2026-03-02,000001,P00001,1,9999999999999999.99,0.00,"
        "9999999999999999.99,40.00,R001,",  # the largest values the columns hold
        "SO7,1,２０２６-03-02,000001,P00001,1,65.00,0.00,65.00,40.00,R001,",
        "SO8,1,2026-03-02,000001,P00001,1000000000000000,0.00,0.00,0.00,40.00,R001,",
    ]
    _write(landing, "sales", "20260302", "\n".join([SALES_HEADER, *rows]) + "\n")
    con = duckdb.connect()
    report = ingest(con, landing, date(2026, 3, 2), "run-1")
    assert report.totals("sales") == (2, 6)
    f = "sales/sales_20260302.csv"
    assert _rejected(con) == [
        (f, 3, "unit_price", "not an amount with at most 2 decimals"),
        (f, 4, "quantity", "not a number with at most 3 decimals"),
        (f, 5, "net_amount", "too large: more than 16 digits before the decimal point"),
        (f, 5, "unit_price", "too large: more than 16 digits before the decimal point"),
        (f, 6, "line_no", "beyond the whole numbers the column holds (-2147483648 to 2147483647)"),
        (f, 8, "order_date", "not a date as YYYY-MM-DD"),
        (f, 9, "quantity", "too large: more than 15 digits before the decimal point"),
    ]
    assert con.execute(
        "select order_id, line_no, unit_price::varchar from raw.sales order by 1"
    ).fetchall() == [("SO1", 1, "65.00"), ("SO6", 2147483647, "9999999999999999.99")]


def test_implausible_dates_are_quarantined(landing: Path):
    _write(landing, "sales", "20260302", SALES_HEADER + "\n")
    _write(
        landing,
        "customers",
        "20260302",
        CUSTOMERS + "000002,N,retailer,active,east,,,R001,0001-01-01,30,0.00,,,,\n"
        "000003,N,retailer,active,east,,,R001,1950-01-01,30,0.00,,,,\n",
    )
    _write(
        landing,
        "payments",
        "20260302",
        PAYMENTS + "INV2,invoice,000001,2026-03-02,9999-12-31,100.00,,,posted\n"
        "INV3,invoice,000001,2026-03-02,2031-03-06,100.00,,,posted\n"  # 1,830 days on
        "INV4,invoice,000001,2026-03-02,2031-03-07,100.00,,,posted\n",
    )
    con = duckdb.connect()
    ingest(con, landing, date(2026, 3, 2), "run-1")
    reason = (
        "not a plausible date (before 1950-01-01 or more than 1830 days after the file's "
        "business date)"
    )
    assert sorted(_rejected(con)) == [
        ("customers/customers_20260302.csv", 3, "onboarding_date", reason),
        ("payments/payments_20260302.csv", 3, "due_date", reason),
        ("payments/payments_20260302.csv", 5, "due_date", reason),
    ]
    assert con.execute("select doc_id from raw.payments order by 1").fetchall() == [
        ("INV1",),
        ("INV3",),
    ]


def test_every_entry_of_an_extract_folder_is_loaded_or_named(landing: Path):
    for name in ("sales_20260302 (1).csv", "sales_2026-03-02.csv", "sales_20260302 .csv"):
        (landing / "sales" / name).parent.mkdir(parents=True, exist_ok=True)
        (landing / "sales" / name).write_text(SALES_HEADER + "\n", encoding="utf-8")
    (landing / "sales" / "sales_20260301.csv").mkdir()
    (landing / "Sales").mkdir()
    _write(landing, "sales", "20260302", SALES_HEADER + "\n")
    con = duckdb.connect()
    report = ingest(con, landing, date(2026, 3, 2), "run-1")
    rename = "; if it is the delivery of that day, rename it sales_20260302.csv"
    expected = [
        (
            "Sales",
            "not an extract folder, so not read (the folders are customers, products, sales, "
            "inventory, payments, prospects, complaints, credit_reviews, targets)",
        ),
        ("sales/sales_2026-03-02.csv", f"not named sales_YYYYMMDD.csv, so not loaded{rename}"),
        (
            "sales/sales_20260301.csv",
            "a folder, not a file: only files named sales_YYYYMMDD.csv are loaded",
        ),
        ("sales/sales_20260302 (1).csv", f"not named sales_YYYYMMDD.csv, so not loaded{rename}"),
        ("sales/sales_20260302 .csv", f"not named sales_YYYYMMDD.csv, so not loaded{rename}"),
    ]
    assert report.unrecognised == expected
    assert [f["file_name"] for f in report.files if f["extract"] == "sales"] == [
        "sales/sales_20260302.csv"
    ]
    assert (
        con.execute(
            "select file_name, reason from raw.unrecognised_files where run_id = 'run-1' order by 1"
        ).fetchall()
        == expected
    )
    with pytest.raises(FileRejected, match=r"5 entr\(ies\) .*sales_20260302 \(1\)\.csv"):
        ingest(con, landing, date(2026, 3, 2), "run-2", IngestOptions(unrecognised_files="refuse"))


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16"])
def test_a_utf16_file_is_refused_with_a_word_about_its_encoding(landing: Path, encoding: str):
    _write(landing, "sales", "20260302", SALES_HEADER + "\n", encoding=encoding)
    with pytest.raises(FileRejected, match="sales/sales_20260302.csv: the file looks like UTF-16"):
        ingest(duckdb.connect(), landing, date(2026, 3, 2), "run-1")


def test_ar_documents_must_reference_a_document_of_their_kind_and_customer(landing: Path):
    _write(
        landing,
        "customers",
        "20260302",
        CUSTOMERS + "000002,N,retailer,active,east,,,R001,2020-01-01,30,0.00,,,,\n",
    )
    _write(landing, "sales", "20260302", SALES_HEADER + "\n")
    docs = [
        "REC1,receipt,000001,2026-03-02,,40.00,bank_transfer,INV1,posted",
        "REV1,reversal,000001,2026-03-02,,40.00,bank_transfer,REC1,posted",
        "REV2,reversal,000001,2026-03-02,,40.00,bank_transfer,REV1,posted",  # of a reversal
        "REC2,receipt,000002,2026-03-02,,10.00,bank_transfer,INV1,posted",  # another's invoice
        "REV3,reversal,000002,2026-03-02,,10.00,bank_transfer,REC2,posted",  # of REC2
        "EXT1,extension,000001,2026-03-02,2026-05-01,0.00,,INV9,posted",  # not delivered yet
        "REC3,receipt,000001,2026-03-02,,5.00,cash,INV9,posted",  # not delivered yet
        "CN1,credit_note,000001,2026-03-02,,5.00,,INV1,posted",
        "REC4,receipt,000001,2026-03-02,,5.00,cash,,posted",  # unreferenced: pooled
        "REC5,receipt,000001,2026-03-02,,5.00,cash,NOPE,cancelled",  # never existed
    ]
    _write(landing, "payments", "20260302", PAYMENTS + "\n".join(docs) + "\n")
    con = duckdb.connect()
    report = ingest(con, landing, date(2026, 3, 2), "run-1")
    assert report.totals("payments") == (6, 5)
    f, pending = "payments/payments_20260302.csv", "references a document not delivered so far"
    assert _rejected(con) == [
        (
            f,
            5,
            "reference_doc_id",
            "references a reversal (a reversal must reference a posted receipt)",
        ),
        (
            f,
            6,
            "reference_doc_id",
            "references a document of another customer (a receipt must "
            "reference a posted invoice of the same customer)",
        ),
        (f, 7, "reference_doc_id", f"{pending} (a reversal must reference a posted receipt)"),
        (f, 8, "reference_doc_id", f"{pending} (a extension must reference a posted invoice)"),
        (f, 9, "reference_doc_id", f"{pending} (a receipt must reference a posted invoice)"),
    ]
    # the invoice arrives a day late: the waiting documents of the earlier file are accepted
    _write(
        landing,
        "payments",
        "20260303",
        PAYMENTS.splitlines()[0] + "\nINV9,invoice,000001,2026-03-03,2026-04-02,50.00,,,posted\n",
    )
    report = ingest(con, landing, date(2026, 3, 3), "run-2")
    assert [f["file_name"] for f in report.files if f["extract"] == "payments"] == [
        "payments/payments_20260302.csv",
        "payments/payments_20260303.csv",
    ]
    assert [line for _, line, _, _ in _rejected(con)] == [5, 6, 7]
    assert con.execute(
        "select doc_id from raw.payments where doc_id in ('EXT1', 'REC3') order by 1"
    ).fetchall() == [("EXT1",), ("REC3",)]
    # past the wait the file is no longer read again
    report = ingest(con, landing, date(2026, 3, 10), "run-3")
    assert [f["file_name"] for f in report.files] == []


def test_a_missing_or_empty_landing_folder_is_refused(tmp_path: Path):
    con = duckdb.connect()
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileRejected, match=f"the landing folder {missing} does not exist"):
        ingest(con, missing, date(2026, 3, 2), "run-2")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileRejected, match=f"the landing folder {empty} is empty"):
        ingest(con, empty, date(2026, 3, 2), "run-3")


def test_an_as_of_date_before_any_delivery_is_refused_with_the_first_date(landing: Path):
    _write(landing, "sales", "20260302", SALES_HEADER + "\n")
    con = duckdb.connect()
    ingest(con, landing, date(2026, 3, 2), "run-1")
    # loaded already, but nothing of it is dated on or before the earlier date
    with pytest.raises(
        FileRejected,
        match="no customers extract has landed on or before 1998-01-01; the first has "
        "business date 2026-03-02: run for that date or later",
    ):
        ingest(con, landing, date(1998, 1, 1), "run-2")
