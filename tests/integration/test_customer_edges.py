"""Customer facts (F1) and tiers (F4-F9, F11, F12, F19) end to end through dbt and the Polars
scoring, on a tiny hand-made ledger whose every figure is computed by hand below.

As of 2026-03-31: "12m" is 2025-04-01..2026-03-31 (order_date > as-of - 365), "prior 12m" is
2024-04-01..2025-03-31 (order_date > as-of - 730). Ten customers:

| id  | edge                                   | 12m net | 12m margin | order days 12m | last order |
|-----|----------------------------------------|--------:|-----------:|---------------:|------------|
| C01 | ordinary, biggest (two orders one day) |   45000 |      17500 |              6 | 2026-03-30 |
| C02 | ordinary, growing from 20000 prior     |   25000 |      10000 |              5 | 2026-03-21 |
| C03 | (f) tied with C04 at the A/B boundary  |   10000 |       4000 |              4 | 2026-03-11 |
| C04 | (f) tied with C03                      |   10000 |       2500 |              3 | 2026-02-19 |
| C05 | ordinary, 2000 AR over 180 days        |    5000 |       2000 |              3 | 2026-01-30 |
| C06 | (d) cost_amount 0 on every line        |    3000 |       3000 |              2 | 2025-12-31 |
| C07 | (a) exactly one purchase, on the as-of |    2000 |       1000 |              1 | 2026-03-31 |
| C08 | (c) returns exceed sales in 12m        |   -2000 |       -800 |              1 | 2025-11-01 |
| C09 | (b) last purchase exactly 365 days ago |       0 |          0 |              0 | 2025-03-31 |
| C10 | (e) in the master, never bought        |       0 |          0 |              0 | -          |

Positive 12m net sales add up to 100000, positive 12m margins to 40000, and the company's
12m net sales (C08's negative figure included) to 98000. Nine customers ever bought, fewer
than the ten the CLV models need, so nobody gets a CLV and the rules fall back to margin.
Only customers, products, sales and payments land: no complaints, targets, prospects or
inventory.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.config import CrmConfig
from pipelines.defs.customer_value.customer_tiers import score_customers
from pipelines.defs.ingestion.raw_store import ensure_schema
from tests.support.dbt import dbt_build

AS_OF = date(2026, 3, 31)
SNAPSHOT = "2026-03-31"

CUSTOMERS = [  # customer_id, customer_type, region, onboarding_date, payment_terms_days
    ("C01", "key_account", "east", "2020-01-01", 60),
    ("C02", "distributor", "north", "2021-06-01", 30),
    ("C03", "distributor", "south", "2022-01-01", 30),
    ("C04", "retailer", "south", "2022-01-01", 30),
    ("C05", "retailer", "west", "2023-01-01", 30),
    ("C06", "agent", "central", "2024-01-01", 30),
    ("C07", "end_customer", "east", "2026-03-01", 0),
    ("C08", "retailer", "north", "2023-06-01", 30),
    ("C09", "retailer", "east", "2024-01-01", 30),
    ("C10", "distributor", "west", "2025-12-01", 30),
]

PRODUCTS = [  # product_id, category, price_tier, list_price, unit_cost
    ("P-LOW", "snack", "low", "10.00", "6.00"),
    ("P-MID", "dairy", "mid", "20.00", "12.00"),
    ("P-HIGH", "beverage", "high", "50.00", "30.00"),
]

SALES = [  # order_id, line_no, order_date, customer, product, qty, unit_price, discount, net, cost
    # C01: 50000 in the prior 12m; 12m = 5 x 6000 + (7100 - 100) + 2000 + 6000 = 45000, cost
    # 5 x 3600 + 4200 + 1000 + 4300 = 27500; seven orders on six days (two on 2026-03-30)
    ("SO0101", 1, "2024-10-15", "C01", "P-LOW", 5000, "10.00", "0.00", "50000.00", "30000.00"),
    ("SO0102", 1, "2025-05-10", "C01", "P-LOW", 600, "10.00", "0.00", "6000.00", "3600.00"),
    ("SO0103", 1, "2025-07-10", "C01", "P-LOW", 600, "10.00", "0.00", "6000.00", "3600.00"),
    ("SO0104", 1, "2025-09-10", "C01", "P-LOW", 600, "10.00", "0.00", "6000.00", "3600.00"),
    ("SO0105", 1, "2025-11-10", "C01", "P-LOW", 600, "10.00", "0.00", "6000.00", "3600.00"),
    ("SO0106", 1, "2026-01-10", "C01", "P-LOW", 600, "10.00", "0.00", "6000.00", "3600.00"),
    ("SO0107", 1, "2026-03-30", "C01", "P-LOW", 710, "10.00", "100.00", "7000.00", "4200.00"),
    ("SO0107", 2, "2026-03-30", "C01", "P-MID", 100, "20.00", "0.00", "2000.00", "1000.00"),
    ("SO0108", 1, "2026-03-30", "C01", "P-MID", 300, "20.00", "0.00", "6000.00", "4300.00"),
    # C02: 20000 prior, 5 x 5000 = 25000 in 12m at cost 5 x 3000
    ("SO0201", 1, "2024-09-01", "C02", "P-MID", 1000, "20.00", "0.00", "20000.00", "12000.00"),
    ("SO0202", 1, "2025-06-01", "C02", "P-MID", 250, "20.00", "0.00", "5000.00", "3000.00"),
    ("SO0203", 1, "2025-08-01", "C02", "P-MID", 250, "20.00", "0.00", "5000.00", "3000.00"),
    ("SO0204", 1, "2025-10-01", "C02", "P-MID", 250, "20.00", "0.00", "5000.00", "3000.00"),
    ("SO0205", 1, "2025-12-01", "C02", "P-MID", 250, "20.00", "0.00", "5000.00", "3000.00"),
    ("SO0206", 1, "2026-03-21", "C02", "P-MID", 250, "20.00", "0.00", "5000.00", "3000.00"),
    # C03: 4 x 2500 = 10000 of high-tier products at cost 4 x 1500
    ("SO0301", 1, "2025-09-15", "C03", "P-HIGH", 50, "50.00", "0.00", "2500.00", "1500.00"),
    ("SO0302", 1, "2025-11-15", "C03", "P-HIGH", 50, "50.00", "0.00", "2500.00", "1500.00"),
    ("SO0303", 1, "2026-01-15", "C03", "P-HIGH", 50, "50.00", "0.00", "2500.00", "1500.00"),
    ("SO0304", 1, "2026-03-11", "C03", "P-HIGH", 50, "50.00", "0.00", "2500.00", "1500.00"),
    # C04: 5000 mid + 5000 high = 10000 at cost 7500
    ("SO0401", 1, "2025-10-20", "C04", "P-MID", 250, "20.00", "0.00", "5000.00", "3750.00"),
    ("SO0402", 1, "2025-12-20", "C04", "P-HIGH", 60, "50.00", "0.00", "3000.00", "2250.00"),
    ("SO0403", 1, "2026-02-19", "C04", "P-HIGH", 40, "50.00", "0.00", "2000.00", "1500.00"),
    # C05: the first day of the 12m window counts; 5000 at cost 3000
    ("SO0501", 1, "2025-04-01", "C05", "P-LOW", 200, "10.00", "0.00", "2000.00", "1200.00"),
    ("SO0502", 1, "2025-08-20", "C05", "P-LOW", 150, "10.00", "0.00", "1500.00", "900.00"),
    ("SO0503", 1, "2026-01-30", "C05", "P-LOW", 150, "10.00", "0.00", "1500.00", "900.00"),
    # C06: cost known to be zero on every line
    ("SO0601", 1, "2025-06-30", "C06", "P-HIGH", 30, "50.00", "0.00", "1500.00", "0.00"),
    ("SO0602", 1, "2025-12-31", "C06", "P-HIGH", 30, "50.00", "0.00", "1500.00", "0.00"),
    # C07: one purchase on the as-of date; the order of the next day does not exist yet
    ("SO0701", 1, "2026-03-31", "C07", "P-LOW", 200, "10.00", "0.00", "2000.00", "1000.00"),
    ("SO0702", 1, "2026-04-01", "C07", "P-LOW", 900, "10.00", "0.00", "9000.00", "5400.00"),
    # C08: 10000 bought in the prior 12m, 6000 of it returned in the 12m, 4000 bought again
    ("SO0801", 1, "2025-02-01", "C08", "P-MID", 500, "20.00", "0.00", "10000.00", "6000.00"),
    ("SO0802", 1, "2025-06-15", "C08", "P-MID", -300, "20.00", "0.00", "-6000.00", "-3600.00"),
    ("SO0803", 1, "2025-11-01", "C08", "P-MID", 200, "20.00", "0.00", "4000.00", "2400.00"),
    # C09: 2024-03-31 (730 days back) is before the prior 12m, 2025-03-31 (365 days back)
    # its last day; nothing in the 12m
    ("SO0901", 1, "2024-03-31", "C09", "P-LOW", 100, "10.00", "0.00", "1000.00", "600.00"),
    ("SO0902", 1, "2025-03-01", "C09", "P-LOW", 100, "10.00", "0.00", "1000.00", "600.00"),
    ("SO0903", 1, "2025-03-15", "C09", "P-MID", 50, "20.00", "0.00", "1000.00", "600.00"),
    ("SO0904", 1, "2025-03-31", "C09", "P-LOW", 150, "10.00", "0.00", "1500.00", "900.00"),
]

PAYMENTS = [  # doc_id, doc_type, customer, doc_date, due_date, amount
    # C05's first delivery was never paid: 334 days past due on the as-of date -> over 180
    ("INV0501", "invoice", "C05", "2025-04-01", "2025-05-01", "2000.00"),
]


def _run(con: duckdb.DuckDBPyConnection, sql: str, rows: list[tuple]) -> None:
    for row in rows:
        con.execute(sql, list(row))


def build_edges(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """Load the hand-made extracts into a fresh working database and run dbt up to the marts."""
    work_db = tmp_path / "work.duckdb"
    con = duckdb.connect(str(work_db))
    ensure_schema(con)
    meta = "_file_name, _line_number, _business_date"
    _run(
        con,
        "insert into raw.customers (customer_id, customer_name, customer_type, status, region, "
        f"province, city, sales_rep_id, onboarding_date, payment_terms_days, deposit_amount, {meta}) "
        "values (?, 'name', ?, 'active', ?, 'p', 'c', 'R1', ?, ?, 0, "
        f"'customers/customers_20260331.csv', ?, '{SNAPSHOT}')",
        [(*c, n) for n, c in enumerate(CUSTOMERS, start=2)],
    )
    _run(
        con,
        "insert into raw.products (product_id, product_name, category, price_tier, unit, "
        f"list_price, unit_cost, launch_date, {meta}) values (?, 'product', ?, ?, 'case', ?, ?, "
        f"'2020-01-01', 'products/products_20260331.csv', ?, '{SNAPSHOT}')",
        [(*p, n) for n, p in enumerate(PRODUCTS, start=2)],
    )
    for order, line, _, _, _, qty, price, discount, net, _ in SALES:
        # the fixture itself honours the contract: net = quantity x unit_price - discount
        assert Decimal(qty) * Decimal(price) - Decimal(discount) == Decimal(net), (order, line)
    _run(
        con,
        "insert into raw.sales (order_id, line_no, order_date, customer_id, product_id, quantity, "
        "unit_price, discount_amount, net_amount, cost_amount, sales_rep_id, promotion_id, "
        f"{meta}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'R1', null, "
        "'sales/sales_' || strftime(?::date, '%Y%m%d') || '.csv', ?, ?)",
        [(*s, s[2], n, s[2]) for n, s in enumerate(SALES, start=2)],
    )
    _run(
        con,
        "insert into raw.payments (doc_id, doc_type, customer_id, doc_date, due_date, amount, "
        f"method, reference_doc_id, status, {meta}) values (?, ?, ?, ?, ?, ?, 'bank_transfer', "
        "null, 'posted', 'payments/payments_' || strftime(?::date, '%Y%m%d') || '.csv', 2, ?)",
        [(*p, p[3], p[3]) for p in PAYMENTS],
    )
    con.close()
    dbt_build(
        work_db,
        tmp_path,
        ["+customer_facts", "+int_customer_pareto_classes", "+customer_ar"],
        AS_OF.isoformat(),
    )
    return duckdb.connect(str(work_db), read_only=True)


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory, config: CrmConfig):
    con = build_edges(tmp_path_factory.mktemp("edges"))
    facts = con.execute("select * from marts.customer_facts where as_of_date = ?", [AS_OF]).pl()
    pareto = con.execute(
        "select * from intermediate.int_customer_pareto_classes where as_of_date = ?", [AS_OF]
    ).pl()
    ar = con.execute("select * from marts.customer_ar where as_of_date = ?", [AS_OF]).pl()
    # what the customer_tiers asset asks before scoring
    complaints_landed = con.execute("select count(*) > 0 from raw.complaints").fetchone()[0]
    optional_rows = {
        name: con.execute(f"select count(*) from raw.{name}").fetchone()[0]
        for name in ("complaints", "targets", "prospects", "inventory")
    }
    con.close()
    tiers = score_customers(facts, pareto, ar, config, complaints_landed=complaints_landed)
    yield facts, ar, tiers, complaints_landed, optional_rows


def _plain(value):
    return float(value) if isinstance(value, Decimal) else value


def _rows(frame: pl.DataFrame, columns: list[str]) -> dict[str, dict]:
    return {
        row["customer_id"]: {c: _plain(row[c]) for c in columns}
        for row in frame.select("customer_id", *columns).iter_rows(named=True)
    }


def _facts(**values) -> dict:
    never = {  # a customer with nothing in the 12m
        "is_in_master": True,
        "net_sales_12m": 0.0,
        "gross_margin_12m": 0.0,
        "margin_rate_12m": None,
        "order_count_12m": 0,
        "order_days_12m": 0,
        "active_months_12m": 0,
        "returns_12m": 0.0,
        "discounts_12m": 0.0,
        "net_sales_prior_12m": 0.0,
        "growth_rate_12m": None,
        "share_of_company_12m": 0.0,
    }
    return never | values


EXPECTED_FACTS = {
    "C01": _facts(
        net_sales_12m=45000.0,
        gross_margin_12m=17500.0,  # 45000 - 27500
        margin_rate_12m=0.3889,  # 17500 / 45000 = 0.38888.. -> 4 decimals
        has_cost_12m=True,
        order_count_12m=7,  # SO0102..SO0108
        order_days_12m=6,  # SO0107 and SO0108 share 2026-03-30
        active_months_12m=6,  # 2025-05, -07, -09, -11, 2026-01, -03
        first_order_date=date(2024, 10, 15),
        last_order_date=date(2026, 3, 30),
        days_since_last_order=1,
        discounts_12m=100.0,
        net_sales_prior_12m=50000.0,
        growth_rate_12m=-0.1,  # 45000 / 50000 - 1
        share_of_company_12m=0.459184,  # 45000 / 98000 = 0.4591836..
        net_sales_lifetime=95000.0,
        order_days_lifetime=7,
        # gaps 207, 61, 62, 61, 61, 79 days -> median (61 + 62) / 2
        median_order_interval_days=61.5,
    ),
    "C02": _facts(
        net_sales_12m=25000.0,
        gross_margin_12m=10000.0,  # 25000 - 5 x 3000
        margin_rate_12m=0.4,
        has_cost_12m=True,
        order_count_12m=5,
        order_days_12m=5,
        active_months_12m=5,
        first_order_date=date(2024, 9, 1),
        last_order_date=date(2026, 3, 21),
        days_since_last_order=10,
        net_sales_prior_12m=20000.0,
        growth_rate_12m=0.25,  # 25000 / 20000 - 1
        share_of_company_12m=0.255102,  # 25000 / 98000 = 0.2551020..
        net_sales_lifetime=45000.0,
        order_days_lifetime=6,
        median_order_interval_days=61.0,  # gaps 273, 61, 61, 61, 110
    ),
    "C03": _facts(
        net_sales_12m=10000.0,
        gross_margin_12m=4000.0,
        margin_rate_12m=0.4,
        has_cost_12m=True,
        order_count_12m=4,
        order_days_12m=4,
        active_months_12m=4,
        first_order_date=date(2025, 9, 15),
        last_order_date=date(2026, 3, 11),
        days_since_last_order=20,
        share_of_company_12m=0.102041,  # 10000 / 98000 = 0.1020408..
        net_sales_lifetime=10000.0,
        order_days_lifetime=4,
        median_order_interval_days=61.0,  # gaps 61, 61, 55
    ),
    "C04": _facts(
        net_sales_12m=10000.0,
        gross_margin_12m=2500.0,  # 10000 - (3750 + 2250 + 1500)
        margin_rate_12m=0.25,
        has_cost_12m=True,
        order_count_12m=3,
        order_days_12m=3,
        active_months_12m=3,
        first_order_date=date(2025, 10, 20),
        last_order_date=date(2026, 2, 19),
        days_since_last_order=40,
        share_of_company_12m=0.102041,
        net_sales_lifetime=10000.0,
        order_days_lifetime=3,
        median_order_interval_days=61.0,  # gaps 61, 61
    ),
    "C05": _facts(
        net_sales_12m=5000.0,
        gross_margin_12m=2000.0,
        margin_rate_12m=0.4,
        has_cost_12m=True,
        order_count_12m=3,
        order_days_12m=3,
        active_months_12m=3,
        first_order_date=date(2025, 4, 1),  # the first day of the 12m window
        last_order_date=date(2026, 1, 30),
        days_since_last_order=60,
        share_of_company_12m=0.05102,  # 5000 / 98000 = 0.0510204..
        net_sales_lifetime=5000.0,
        order_days_lifetime=3,
        median_order_interval_days=152.0,  # gaps 141, 163
    ),
    # (d) zero cost is a known cost: margin = net sales, margin rate 1
    "C06": _facts(
        net_sales_12m=3000.0,
        gross_margin_12m=3000.0,
        margin_rate_12m=1.0,
        has_cost_12m=True,
        order_count_12m=2,
        order_days_12m=2,
        active_months_12m=2,
        first_order_date=date(2025, 6, 30),
        last_order_date=date(2025, 12, 31),
        days_since_last_order=90,
        share_of_company_12m=0.030612,  # 3000 / 98000 = 0.0306122..
        net_sales_lifetime=3000.0,
        order_days_lifetime=2,
        median_order_interval_days=184.0,
    ),
    # (a) exactly one purchase, on the as-of date itself; SO0702 of 2026-04-01 is ignored
    "C07": _facts(
        net_sales_12m=2000.0,
        gross_margin_12m=1000.0,
        margin_rate_12m=0.5,
        has_cost_12m=True,
        order_count_12m=1,
        order_days_12m=1,
        active_months_12m=1,
        first_order_date=date(2026, 3, 31),
        last_order_date=date(2026, 3, 31),
        days_since_last_order=0,
        share_of_company_12m=0.020408,  # 2000 / 98000 = 0.0204081..
        net_sales_lifetime=2000.0,
        order_days_lifetime=1,
        median_order_interval_days=None,  # no gap between order days
    ),
    # (c) 4000 bought - 6000 returned; margin 4000 - 2400 - (6000 - 3600) = -800
    "C08": _facts(
        net_sales_12m=-2000.0,
        gross_margin_12m=-800.0,
        margin_rate_12m=None,  # not defined for non-positive net sales
        has_cost_12m=True,
        order_count_12m=1,  # a day with only a return is no purchase (F7, F8)
        order_days_12m=1,
        active_months_12m=1,
        first_order_date=date(2025, 2, 1),
        last_order_date=date(2025, 11, 1),
        days_since_last_order=150,
        returns_12m=6000.0,
        net_sales_prior_12m=10000.0,
        growth_rate_12m=-1.2,  # -2000 / 10000 - 1
        share_of_company_12m=-0.020408,  # -2000 / 98000
        net_sales_lifetime=8000.0,  # 10000 - 6000 + 4000
        purchase_days_net_sales_lifetime=14000.0,  # 10000 + 4000: the return's day is no purchase
        order_days_lifetime=2,  # 2025-02-01 and 2025-11-01; 06-15 only returned goods
        median_order_interval_days=273.0,  # one gap between purchase days
    ),
    # (b) nothing in the 12m: a purchase exactly 365 days back is outside it
    "C09": _facts(
        first_order_date=date(2024, 3, 31),
        last_order_date=date(2025, 3, 31),
        days_since_last_order=365,
        # 1000 + 1000 + 1500 of 2025-03; 2024-03-31 is 730 days back, before the prior 12m
        net_sales_prior_12m=3500.0,
        growth_rate_12m=-1.0,  # 0 / 3500 - 1
        net_sales_lifetime=4500.0,
        order_days_lifetime=4,
        median_order_interval_days=16.0,  # gaps 335, 14, 16
    ),
    # (e) in the master, no sales at all
    "C10": _facts(
        first_order_date=None,
        last_order_date=None,
        days_since_last_order=None,
        net_sales_lifetime=0.0,
        order_days_lifetime=0,
        median_order_interval_days=None,
    ),
}


def test_run_succeeds_without_the_optional_extracts(edges):
    facts, ar, tiers, complaints_landed, optional_rows = edges
    assert optional_rows == {"complaints": 0, "targets": 0, "prospects": 0, "inventory": 0}
    assert complaints_landed is False
    # one row per customer of the master, in facts, AR and tiers
    ids = sorted(c[0] for c in CUSTOMERS)
    for frame in (facts, ar, tiers):
        assert sorted(frame["customer_id"].to_list()) == ids
    assert tiers["satisfaction_band"].to_list() == ["unknown"] * tiers.height
    assert facts["complaints_12m"].to_list() == [0] * len(ids)
    assert facts["avg_satisfaction_12m"].null_count() == len(ids)


def test_company_totals(edges):
    facts, _, _, _, _ = edges
    # 45000 + 25000 + 2 x 10000 + 5000 + 3000 + 2000 - 2000
    assert float(facts["net_sales_12m"].sum()) == 98000.0
    # every customer with 12m sales gets a share; the shares add up to 1 (to rounding)
    assert abs(facts["share_of_company_12m"].cast(pl.Float64).sum() - 1.0) < 1e-5


@pytest.mark.parametrize("customer_id", sorted(EXPECTED_FACTS))
def test_facts_of_edge_customers(edges, customer_id: str):
    facts, _, _, _, _ = edges
    expected = EXPECTED_FACTS[customer_id]
    assert _rows(facts, list(expected))[customer_id] == expected


def test_ar_of_the_overdue_customer(edges):
    _, ar, _, _, _ = edges
    rows = _rows(ar, ["ar_balance", "overdue_amount", "ar_91_180", "ar_over_180"])
    # INV0501 due 2025-05-01 is 334 days past due
    assert rows["C05"] == {
        "ar_balance": 2000.0,
        "overdue_amount": 2000.0,
        "ar_91_180": 0.0,
        "ar_over_180": 2000.0,
    }
    assert rows["C01"] == dict.fromkeys(rows["C01"], 0.0)


def _tier_rows(tiers: pl.DataFrame, columns: list[str]) -> dict[str, tuple]:
    return {
        row[0]: tuple(_plain(v) for v in row[1:])
        for row in tiers.select("customer_id", *columns).iter_rows()
    }


# Seven customers have positive 12m net sales (C01..C07), 100000 in all; C08 (negative), C09
# and C10 (zero) contribute nothing and are ranked last.
#
# ABC (F4: cumulative share <= 80% A, <= 95% B, rest C; the crosser takes the higher class).
#   Share before each: C01 0 -> A; C02 .45 -> A; C03 .70 -> A (ends exactly on .80);
#   C04 .80 -> B by position, but C04 ties C03 (10000 each) and tied customers cannot be told
#   apart -> A; C05 .90 -> B (ends exactly on .95); C06 .95 -> C; C07 .98 -> C; rest C.
# Size tier (F5), n = 7 transacting: VIP = ceil(7 x .02) = 1, large = ceil(7 x .08) = 1 more,
#   medium = ceil(7 x .30) = 3 more (ranks 3..5), small the rest: C01 vip, C02 large, C03 and
#   C04 (both rank 3) and C05 medium, C06 and C07 small; C08..C10 non_transacting.
# Revenue grade (F6: <= 70% A, <= 90% B, <= 98% C, rest and non-positive D), shares before as
#   for ABC: C01, C02 A; C03 .70 -> B and C04 tied -> B; C05 .90 -> C; C06 .95 -> C;
#   C07 .98 -> D.
# Profit grade by 12m margin (40000 in all): C01 17500 (before 0) A; C02 10000 (.4375) A;
#   C03 4000 (.6875, crosses .70) A; C06 3000 (.7875) B; C04 2500 (.8625) B; C05 2000 (.925)
#   C; C07 1000 (.975) C; C08 negative, C09 and C10 zero -> D.
EXPECTED_CLASSES = {  # abc_class, size_tier, revenue_grade, profit_grade
    "C01": ("A", "vip", "A", "A"),
    "C02": ("A", "large", "A", "A"),
    "C03": ("A", "medium", "B", "A"),
    "C04": ("A", "medium", "B", "B"),
    "C05": ("B", "medium", "C", "C"),
    "C06": ("C", "small", "C", "B"),
    "C07": ("C", "small", "D", "C"),
    "C08": ("C", "non_transacting", "D", "D"),
    "C09": ("C", "non_transacting", "D", "D"),
    "C10": ("C", "non_transacting", "D", "D"),
}
CLASS_COLUMNS = ["abc_class", "size_tier", "revenue_grade", "profit_grade"]
# The marts' amounts are DECIMAL(38, 2): the shares must not come out rounded to two
# decimals, or C07's margin share before it, 39000 / 40000 = .975, would read .98 (D).


@pytest.mark.parametrize("customer_id", sorted(EXPECTED_CLASSES))
def test_abc_size_tier_and_grades(edges, customer_id: str):
    _, _, tiers, _, _ = edges
    assert _tier_rows(tiers, CLASS_COLUMNS)[customer_id] == EXPECTED_CLASSES[customer_id]


def test_pareto_ranks_and_cumulative_shares(edges):
    _, _, tiers, _, _ = edges
    ranked = tiers.sort("abc_rank").select(
        "customer_id", "abc_rank", pl.col("abc_cumulative_share").cast(pl.Float64)
    )
    assert ranked.rows() == [
        ("C01", 1, 0.45),
        ("C02", 2, 0.70),
        ("C03", 3, 0.80),  # equal values are ranked by customer_id
        ("C04", 4, 0.90),
        ("C05", 5, 0.95),
        ("C06", 6, 0.98),
        ("C07", 7, 1.0),
        ("C09", 8, 1.0),  # zero, then the negative C08 last
        ("C10", 9, 1.0),
        ("C08", 10, 1.0),
    ]


# RFM (F7) among the nine customers who ever bought (C10 never did: no scores, no segment).
#   score = floor(5 x (rank - 1) / 9) + 1: ranks 1..9 -> 1 1 2 2 3 3 4 4 5 ('min' for ties).
#   Recency days, most first: C09 365, C08 150, C06 90, C05 60, C04 40, C03 20, C02 10, C01 1,
#     C07 0 -> R 1 1 2 2 3 3 4 4 5.
#   Frequency (purchase days in 12m), fewest first: C09 0 (rank 1), C07 and C08 1 (2), C06 2
#     (4), C04 and C05 3 (5), C03 4 (7), C02 5 (8), C01 6 (9) -> F 1 1 1 2 3 3 4 4 5.
#   Monetary, lowest first: C08 -2000, C09 0, C07 2000, C06 3000, C05 5000, C03 and C04 10000
#     (rank 6), C02 25000, C01 45000 -> M 1 1 2 2 3 3 3 4 5.
#   Segment from the R x F grid of the configuration; bought, but not in the 12m -> Lost.
EXPECTED_RFM = {  # recency_days, frequency_12m, monetary_12m, r, f, m, code, segment
    "C01": (1, 6, 45000.0, 4, 5, 5, "455", "Loyal"),
    "C02": (10, 5, 25000.0, 4, 4, 4, "444", "Loyal"),
    "C03": (20, 4, 10000.0, 3, 4, 3, "343", "Loyal"),
    "C04": (40, 3, 10000.0, 3, 3, 3, "333", "Need Attention"),
    "C05": (60, 3, 5000.0, 2, 3, 3, "233", "At Risk"),
    "C06": (90, 2, 3000.0, 2, 2, 2, "222", "Hibernating"),
    "C07": (0, 1, 2000.0, 5, 1, 2, "512", "New"),
    "C08": (150, 1, -2000.0, 1, 1, 1, "111", "Hibernating"),
    "C09": (365, 0, 0.0, 1, 1, 1, "111", "Lost"),
    "C10": (None, 0, 0.0, None, None, None, None, None),
}
RFM_COLUMNS = [
    "recency_days",
    "frequency_12m",
    "monetary_12m",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_code",
    "rfm_segment",
]


def test_rfm_scores_and_segments(edges):
    _, _, tiers, _, _ = edges
    assert _tier_rows(tiers, RFM_COLUMNS) == EXPECTED_RFM


def test_clv_is_null_with_a_reason_when_the_models_cannot_score(edges):
    # F8: nine buyers are too few to fit BG/NBD and Gamma-Gamma (the code needs 10 buyers and
    # 5 repeat buyers); C10 has no purchase at all. Nulls, never zeros.
    _, _, tiers, _, _ = edges
    clv = ["p_alive", "expected_purchases_365d", "expected_spend", "clv_12m"]
    assert tiers.select(clv).null_count().row(0) == (10, 10, 10, 10)
    reasons = dict(tiers.select("customer_id", "clv_null_reason").iter_rows())
    assert reasons == {
        c: "no purchases" if c == "C10" else "too few customers to fit the models"
        for c, *_ in CUSTOMERS
    }


# Value class (F9). Cost to serve = 5% of 12m returns + 2% of overdue AR + 50% of AR 91-180
#   + 100% of AR over 180 days; net value = 12m margin - cost to serve; BZC when negative.
#   C05: 0 + 2000 x .02 + 0 + 2000 x 1.00 = 2040 > 2000 margin -> -40 -> BZC.
#   C08: 6000 x .05 = 300; -800 - 300 = -1100 -> BZC.
#   MVC: the top ceil(7 x .10) = 1 by CLV (null here, so 12m margin) -> C01 (17500).
#   MGC: the top 1 by growth among prior 12m >= 20000 and growth >= .10 -> C02 (.25) only;
#   C01 shrank (-.10). Everyone else, C09 and C10 included (net value 0), is normal.
# Development class (F12): the price tier with the largest 12m sales (ties to the lower
#   tier); null without positive sales. C01 low 37000 vs mid 8000 -> mass_distribution;
#   C02 mid -> deep_distribution; C03 high -> brand; C04 mid 5000 = high 5000 ->
#   deep_distribution; C05 and C07 low; C06 high; C08 mid -2000, C09 and C10 nothing -> null.
# Need category (F11): the category with the largest positive 12m sales, ties by name: C04
#   beverage 5000 = dairy 5000 -> beverage.
# Churn (F19): at risk when recency > 3 x the median gap between order days (90 days with
#   fewer than two order days): C09 365 > 3 x 16 = 48 -> at risk; C07 0 <= 90; C01 1 <=
#   3 x 61.5; C02 10, C03 20 and C04 40 <= 3 x 61; C05 60 <= 3 x 152; C06 90 <= 3 x 184;
#   C08 150 <= 3 x 273; C10 never bought -> null.
# Treatment: BZC -> exit_review; never bought -> win_first_order; bought, but no positive
#   12m sales -> reactivate; else by profit grade
#   A key_service, B develop_to_a, C maintain, D exit_review (F6).
EXPECTED_VALUE = {  # cost to serve, net value, value, development, need, churn risk, treatment
    "C01": (0.0, 17500.0, "MVC", "mass_distribution", "snack", False, "key_service"),
    "C02": (0.0, 10000.0, "MGC", "deep_distribution", "dairy", False, "key_service"),
    "C03": (0.0, 4000.0, "normal", "brand", "beverage", False, "key_service"),
    "C04": (0.0, 2500.0, "normal", "deep_distribution", "beverage", False, "develop_to_a"),
    "C05": (2040.0, -40.0, "BZC", "mass_distribution", "snack", False, "exit_review"),
    "C06": (0.0, 3000.0, "normal", "brand", "beverage", False, "develop_to_a"),
    "C07": (0.0, 1000.0, "normal", "mass_distribution", "snack", False, "maintain"),
    "C08": (300.0, -1100.0, "BZC", None, None, False, "exit_review"),
    "C09": (0.0, 0.0, "normal", None, None, True, "reactivate"),
    "C10": (0.0, 0.0, "normal", None, None, None, "win_first_order"),
}
VALUE_COLUMNS = [
    "cost_to_serve_12m",
    "net_value_12m",
    "value_class",
    "development_class",
    "need_category",
    "is_churn_risk",
    "recommended_treatment",
]


@pytest.mark.parametrize("customer_id", sorted(EXPECTED_VALUE))
def test_value_development_churn_and_treatment(edges, customer_id: str):
    _, _, tiers, _, _ = edges
    assert _tier_rows(tiers, VALUE_COLUMNS)[customer_id] == EXPECTED_VALUE[customer_id]


def test_churn_reason_and_config_version(edges, config: CrmConfig):
    _, _, tiers, _, _ = edges
    reasons = dict(tiers.select("customer_id", "churn_risk_reason").iter_rows())
    assert reasons.pop("C09") == "no order for 365 days, more than 3 x the median gap of 16.0 days"
    assert set(reasons.values()) == {None}
    assert tiers["config_version"].unique().to_list() == [config.version]
