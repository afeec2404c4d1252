"""The demo generator: deterministic, on contract, and shaped like a real customer base."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.contract import EXTRACTS
from pipelines.defs.ingestion.ingest import ingest
from pipelines.demo import generator
from pipelines.demo.generator import DemoSpec, generate

END = date(2026, 3, 31)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(out, DemoSpec(customers=400, days=400, end_date=END, seed=5))
    return out


def test_same_seed_same_bytes(demo: Path, tmp_path: Path):
    generate(tmp_path, DemoSpec(customers=400, days=400, end_date=END, seed=5))
    files = sorted(p.relative_to(demo) for p in demo.rglob("*.csv"))
    assert files == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.csv"))
    assert all((demo / f).read_bytes() == (tmp_path / f).read_bytes() for f in files)
    truth = [generator.truth_path_for(d).read_bytes() for d in (demo, tmp_path)]
    assert truth[0] == truth[1]


def test_every_extract_is_written_with_the_contract_columns(demo: Path):
    for name, extract in EXTRACTS.items():
        files = sorted((demo / name).glob(f"{name}_*.csv"))
        assert files, name
        headers = {f.read_text(encoding="utf-8").splitlines()[0] for f in files}
        assert headers == {",".join(extract.column_names)}, name


def test_the_demo_passes_the_contract_and_has_every_document_kind(demo: Path):
    con = duckdb.connect()
    report = ingest(con, demo, END, "demo")
    assert sum(f["rejected_rows"] for f in report.files) == 0
    assert report.missing_optional == []
    kinds = {r[0] for r in con.execute("select distinct doc_type from raw.payments").fetchall()}
    assert kinds == {"invoice", "receipt", "credit_note", "reversal", "extension"}
    ids = [r[0] for r in con.execute("select customer_id from raw.customers limit 5").fetchall()]
    assert all(len(i) == 6 and i.isdigit() for i in ids) and "000001" in {
        r[0] for r in con.execute("select customer_id from raw.customers").fetchall()
    }
    # returns, promotions, DC stock, churned (closed) customers and prospects are all there
    assert con.execute("select count(*) from raw.sales where quantity < 0").fetchone()[0] > 0
    assert (
        con.execute("select count(*) from raw.sales where promotion_id is not null").fetchone()[0]
        > 0
    )
    assert (
        con.execute("select count(*) from raw.inventory where customer_id = 'DC'").fetchone()[0] > 0
    )
    statuses = {r[0] for r in con.execute("select distinct status from raw.customers").fetchall()}
    assert statuses == {"active", "prospect", "closed"}


def test_sales_are_pareto_skewed(demo: Path):
    top20 = duckdb.sql(f"""
        with per_customer as (
            select customer_id, sum(net_amount) as sales
            from read_csv('{demo}/sales/*.csv', types = {{'customer_id': 'VARCHAR'}})
            where order_date > date '{END}' - 365
            group by 1
        ),
        ranked as (
            select sales, row_number() over (order by sales desc) as rn, count(*) over () as n
            from per_customer
        )
        select sum(sales) filter (where rn <= n * 0.2) / sum(sales) from ranked
    """).fetchone()[0]
    assert 0.65 <= top20 <= 0.85


def test_gb18030_files_are_what_chinese_erps_export(tmp_path: Path):
    generate(tmp_path, DemoSpec(customers=20, days=40, end_date=END, seed=1, encoding="gb18030"))
    raw = sorted((tmp_path / "customers").glob("*.csv"))[-1].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "有限公司" in raw.decode("gb18030")


def test_customer_blocks_append_to_the_same_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Customers are generated in blocks that append to the same daily and month-end files:
    one header per file, ids unique across blocks, every reference resolved."""
    monkeypatch.setattr(generator, "MAX_BLOCK_CUSTOMERS", 50)
    counts = generate(tmp_path, DemoSpec(customers=300, days=200, end_date=END, seed=9))
    for name, extract in EXTRACTS.items():
        header = ",".join(extract.column_names)
        for f in (tmp_path / name).glob("*.csv"):
            lines = f.read_text(encoding="utf-8").splitlines()
            assert lines[0] == header and lines.count(header) == 1, f
    con = duckdb.connect()
    for name in ("sales", "payments", "complaints", "inventory"):
        con.execute(
            f"create table {name} as select * from read_csv('{tmp_path}/{name}/*.csv', "
            "all_varchar = true, filename = true)"
        )
        assert con.execute(f"select count(*) from {name}").fetchone()[0] == counts[name]
    one = con.execute("""
        select count(*) = count(distinct (order_id, line_no)),
               count(distinct order_id) = count(distinct (order_id, customer_id, order_date))
        from sales
    """).fetchone()
    assert one == (True, True)
    assert con.execute("select count(*) = count(distinct doc_id) from payments").fetchone()[0]
    assert con.execute("select count(*) = count(distinct complaint_id) from complaints").fetchone()[
        0
    ]
    unresolved = con.execute("""
        select count(*) from payments p
        left join payments r
          on r.doc_id = p.reference_doc_id and r.customer_id = p.customer_id
         and r.doc_date <= p.doc_date
        where p.reference_doc_id is not null and r.doc_id is null
    """).fetchone()[0]
    assert unresolved == 0
    # channel stock of several blocks in one snapshot, sorted, and the DC once per product
    per_snapshot = con.execute("""
        select count(distinct customer_id) filter (where customer_id <> 'DC'),
               count(*) filter (where customer_id = 'DC'),
               count(*) = count(distinct (customer_id, product_id))
        from inventory group by filename
    """).fetchall()
    products = len((sorted((tmp_path / "products").glob("*.csv"))[-1]).read_text().splitlines()[1:])
    assert max(c for c, _, _ in per_snapshot) > 50
    assert set(per_snapshot) == {(c, products, True) for c, _, _ in per_snapshot}
    for f in (tmp_path / "inventory").glob("*.csv"):
        keys = [line.split(",")[1:3] for line in f.read_text().splitlines()[1:]]
        assert keys == sorted(keys), f


# The planted truth: a two-year demo (growth needs both years inside the window), checked on
# the written CSV files alone.
TRUTH_END = date(2026, 11, 30)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, duckdb.DuckDBPyConnection]:
    landing = tmp_path_factory.mktemp("planted") / "landing"
    generate(landing, DemoSpec(customers=600, days=730, end_date=TRUTH_END, seed=7))
    con = duckdb.connect()
    for name in ("sales", "payments", "inventory", "customers", "credit_reviews", "targets"):
        ids = {c: "VARCHAR" for c in EXTRACTS[name].column_names if c.endswith("_id")}
        con.execute(
            f"create view {name} as select * from read_csv('{landing}/{name}/*.csv', "
            f"header = true, types = {ids}, filename = true)"
        )
    con.execute(
        f"create view truth as select * from read_csv('{landing.parent / 'landing_truth.csv'}', "
        "header = true, types = {'customer_id': 'VARCHAR', 'product_id': 'VARCHAR'})"
    )
    con.execute(f"""
        create view master as select * from customers
        where filename like '%customers_{TRUTH_END:%Y%m%d}.csv'
    """)
    return landing, con


def _of(con: duckdb.DuckDBPyConnection, kind: str) -> set[str]:
    rows = con.execute("select customer_id from truth where kind = ?", [kind]).fetchall()
    return {r[0] for r in rows}


def test_the_truth_lies_beside_the_landing_folder_and_names_every_kind(planted, tmp_path: Path):
    landing, con = planted
    assert (landing.parent / "landing_truth.csv").is_file()
    assert not [p for p in landing.rglob("*") if "truth" in p.name]
    assert generator.truth_path_for(Path("landing")) == Path("landing_truth.csv").resolve()
    # one row per kind and customer (and product), in the order of the kinds
    in_file = [r[0] for r in con.execute("select kind from truth").fetchall()]
    assert in_file == sorted(in_file, key=generator.TRUTH_KINDS.index)
    kinds = dict(con.execute("select kind, count(*) from truth group by 1").fetchall())
    assert set(kinds) == set(generator.TRUTH_KINDS)
    assert con.execute(
        "select count(*) = count(distinct (kind, customer_id, product_id)) from truth"
    ).fetchone() == (True,)
    assert con.execute(
        "select count(*) from truth where (product_id is null) <> (kind <> 'stockout') "
        "or detail is null"
    ).fetchone() == (0,)
    # about the shares the module docstring plants, of 600 customers
    shares = {k: n / 600 for k, n in kinds.items() if k != "stockout"}
    assert 0.33 <= shares["steady_payer"] <= 0.47
    assert 0.04 <= shares["chronic_late_payer"] <= 0.08
    assert 0.02 <= shares["deteriorating_payer"] <= 0.06
    assert 0.01 <= shares["bounced_bill"] <= 0.04
    assert 0.01 <= shares["stopped_paying"] <= 0.035
    assert 0.06 <= shares["churner"] <= 0.12
    assert 0.03 <= shares["grower"] <= 0.08
    with pytest.raises(ValueError, match="must not be inside the landing folder"):
        generate(tmp_path, DemoSpec(customers=5, days=30), truth_path=tmp_path / "truth.csv")


def test_steady_payers_pay_every_invoice_in_full_by_transfer_by_its_due_date(planted):
    _, con = planted
    steady = _of(con, "steady_payer")
    assert steady
    broken = con.execute(f"""
        with invoices as (
            select customer_id, doc_id, due_date, amount from payments where doc_type = 'invoice'
        ),
        receipts as (
            select r.customer_id, r.reference_doc_id, r.method, r.doc_date, r.amount,
                i.due_date
            from payments r left join invoices i on i.doc_id = r.reference_doc_id
            where r.doc_type = 'receipt'
        ),
        paid as (
            select i.customer_id, i.doc_id, i.due_date, i.amount, sum(r.amount) as paid
            from invoices i left join receipts r on r.reference_doc_id = i.doc_id
            group by all
        )
        select customer_id from receipts
        where reference_doc_id is null or method <> 'bank_transfer' or doc_date > due_date
        union select customer_id from paid
        where coalesce(paid, 0) <> amount and not (paid is null and due_date >= date '{TRUTH_END}')
        union select customer_id from payments where doc_type in ('extension', 'reversal')
        union select customer_id from master
        where onboarding_date > date '{TRUTH_END}' - 365 or status <> 'active'
        union select customer_id from sales group by 1
        having min(order_date) > date '{TRUTH_END}' - 365 or max(order_date) < date '{TRUTH_END}' - 30
    """).fetchall()
    assert steady.isdisjoint({r[0] for r in broken})


def test_chronic_late_payers_pay_30_days_late_or_more(planted):
    _, con = planted
    chronic = _of(con, "chronic_late_payer")
    lateness = dict(
        con.execute("""
        select r.customer_id, min(r.doc_date - i.due_date)
        from payments r join payments i on i.doc_id = r.reference_doc_id
        where r.doc_type = 'receipt' and i.doc_type = 'invoice'
        group by 1
    """).fetchall()
    )
    assert chronic and all(lateness[c] >= 30 for c in chronic)


def test_deteriorating_payers_slip_in_the_last_two_quarters(planted):
    _, con = planted
    slipping = _of(con, "deteriorating_payer")
    rows = con.execute(f"""
        with invoices as (select * from payments where doc_type = 'invoice'),
        late as (
            select i.customer_id, i.due_date < date '{TRUTH_END}' - 182 as before,
                r.doc_date - i.due_date as days_late
            from payments r join invoices i on i.doc_id = r.reference_doc_id
            where r.doc_type = 'receipt'
        ),
        open_past_due as (
            select customer_id, count(*) as n from invoices i
            where due_date < date '{TRUTH_END}' and not exists (
                select 1 from payments r where r.reference_doc_id = i.doc_id
                and r.doc_type = 'receipt')
            group by 1
        )
        select customer_id, max(days_late) filter (where before),
            min(days_late) filter (where not before), coalesce(any_value(o.n), 0)
        from late left join open_past_due o using (customer_id)
        group by 1
    """).fetchall()
    figures = {c: (worst, best, n) for c, worst, best, n in rows}
    assert slipping
    for c in slipping:
        worst_before, best_after, open_items = figures[c]
        assert worst_before <= 5 and best_after >= 20 and open_items >= 1, c


def test_bounced_bills_are_the_reversals_of_the_last_90_days(planted):
    _, con = planted
    bounced = con.execute(f"""
        select distinct r.customer_id from payments r
        where r.doc_type = 'reversal' and r.doc_date > date '{TRUTH_END}' - 90
    """).fetchall()
    assert _of(con, "bounced_bill") == {r[0] for r in bounced} != set()


def test_stopped_payers_keep_ordering_but_pay_nothing_for_recent_invoices(planted):
    _, con = planted
    stopped = _of(con, "stopped_paying")
    rows = con.execute(f"""
        with invoices as (
            select i.customer_id, i.doc_date, i.due_date, exists (
                select 1 from payments r
                where r.doc_type = 'receipt' and r.reference_doc_id = i.doc_id
            ) as is_paid
            from payments i where i.doc_type = 'invoice'
        )
        select customer_id,
            count(*) filter (where doc_date > date '{TRUTH_END}' - 150),
            bool_or(is_paid) filter (where doc_date > date '{TRUTH_END}' - 150),
            count(*) filter (where not is_paid and due_date < date '{TRUTH_END}' - 60),
            (select max(order_date) from sales s where s.customer_id = invoices.customer_id)
        from invoices group by 1
    """).fetchall()
    figures = {c: rest for c, *rest in rows}
    assert stopped
    for c in stopped:
        recent, any_recent_paid, open_over_60_days, last_order = figures[c]
        assert recent > 0 and not any_recent_paid and open_over_60_days > 0, c
        assert last_order >= date(2026, 10, 31), c


def test_churners_ordered_regularly_then_stopped_100_to_400_days_before_the_end(planted):
    _, con = planted
    churners = _of(con, "churner")
    rows = con.execute(f"""
        with days as (select distinct customer_id, order_date from sales),
        gaps as (
            select customer_id, order_date,
                order_date - lag(order_date) over (partition by customer_id order by order_date)
                    as gap
            from days
        )
        select customer_id, date '{TRUTH_END}' - max(order_date), count(*),
            (count(*) - 1) * 30 / (max(order_date) - min(order_date)), median(gap)
        from gaps group by 1
    """).fetchall()
    figures = {c: rest for c, *rest in rows}
    statuses = dict(con.execute("select customer_id, status from master").fetchall())
    assert churners
    for c in churners:
        since, order_days, per_month, median_gap = figures[c]
        assert 100 <= since <= 400 and order_days >= 8 and per_month >= 1.5, c
        assert since > 3 * median_gap and statuses[c] == "closed", c


def test_growers_sold_at_least_half_again_as_much_as_the_year_before(planted):
    _, con = planted
    growers = _of(con, "grower")
    rows = con.execute(f"""
        select customer_id,
            sum(net_amount) filter (where order_date > date '{TRUTH_END}' - 365),
            sum(net_amount) filter (where order_date <= date '{TRUTH_END}' - 365
                and order_date > date '{TRUTH_END}' - 730),
            max(order_date)
        from sales group by 1
    """).fetchall()
    figures = {c: rest for c, *rest in rows}
    assert growers
    for c in growers:
        last_12m, prior_12m, last_order = figures[c]
        assert prior_12m >= 20_000 and last_12m >= 1.5 * prior_12m, c
        assert last_order >= date(2026, 10, 31), c


def test_stockouts_were_bought_lately_and_are_missing_from_the_latest_snapshot(planted):
    _, con = planted
    stockouts = con.execute("select customer_id, product_id from truth where kind = 'stockout'")
    stockouts = set(stockouts.fetchall())
    bought = con.execute(f"""
        select distinct customer_id, product_id from sales
        where quantity > 0 and order_date > date '{TRUTH_END}' - 28
    """).fetchall()
    latest = con.execute(f"""
        select customer_id, product_id from inventory
        where snapshot_date = date '{TRUTH_END}' and customer_id <> 'DC'
    """).fetchall()
    key_accounts = {
        r[0]
        for r in con.execute(
            "select customer_id from master where customer_type = 'key_account'"
        ).fetchall()
    }
    assert stockouts and stockouts <= set(bought) and stockouts.isdisjoint(latest)
    assert {c for c, _ in stockouts} <= key_accounts
    # the other products key accounts bought are on the snapshot, mostly well covered
    cover = con.execute(f"""
        with sold as (
            select customer_id, product_id, sum(quantity) as quantity from sales
            where order_date > date '{TRUTH_END}' - 28 group by all having sum(quantity) > 0
        )
        select customer_id, i.quantity_on_hand / (sold.quantity / 28) as days
        from sold join inventory i using (customer_id, product_id)
        join master using (customer_id)
        where i.snapshot_date = date '{TRUTH_END}' and customer_type = 'key_account'
    """).fetchall()
    days = sorted(d for _, d in cover)
    assert 20 <= days[len(days) // 2] <= 60
    short = {c for c, d in cover if d < 14}
    assert len(short) <= 0.4 * len({c for c, _ in cover})


def test_products_are_pareto_skewed(planted):
    _, con = planted
    share_a = con.execute(f"""
        with per_product as (
            select product_id, sum(net_amount) as sales from sales
            where order_date > date '{TRUTH_END}' - 365 group by 1
        ),
        ranked as (
            select sales, sum(sales) over (order by sales desc, product_id) as running,
                sum(sales) over () as total, count(*) over () as n
            from per_product
        )
        select count(*) filter (where running - sales < 0.8 * total) / any_value(n) from ranked
    """).fetchone()[0]
    assert 0.18 <= share_a <= 0.32


def test_targets_are_set_around_the_sales_that_came(planted):
    _, con = planted
    for key, sales in [
        ("customer_id", "sales"),
        ("product_id", "sales"),
        (
            "region",
            "sales join (select distinct customer_id, region from master) using (customer_id)",
        ),
    ]:
        within = con.execute(f"""
            with targets_in_force as (
                select {key}, period, target_net_sales from targets where {key} is not null
                qualify row_number() over (partition by {key}, period order by filename desc) = 1
            ),
            monthly as (
                select {key}, strftime(order_date, '%Y-%m') as period, sum(net_amount) as net
                from {sales} group by all
            )
            select avg((coalesce(net, 0) / target_net_sales between 0.8 and 1.2)::int)
            from targets_in_force left join monthly using ({key}, period)
            where period between '2025-01' and '2026-11'
        """).fetchone()[0]
        assert within >= 0.8, key


def test_credit_reviews_follow_each_customers_behaviour(planted):
    _, con = planted
    reviewed, customers = con.execute(
        "select count(distinct r.customer_id), (select count(*) from master where status <> 'prospect') "
        "from credit_reviews r"
    ).fetchone()
    assert 0.25 <= reviewed / customers <= 0.4
    assert con.execute(f"""
        select count(*) = count(distinct (customer_id, review_date)),
            min(review_date) >= date '{TRUTH_END}' - 729, max(review_date) <= date '{TRUTH_END}',
            count(*) filter (where has_guarantor = 'true') > 0,
            count(*) filter (where collateral_amount > 0) > 0
        from credit_reviews
    """).fetchone() == (True, True, True, True, True)
    payment = dict(
        con.execute("""
        select t.kind, median(r.payment_score) from credit_reviews r join truth t using (customer_id)
        where t.kind in ('steady_payer', 'chronic_late_payer', 'stopped_paying')
        group by 1
    """).fetchall()
    )
    assert (
        payment["steady_payer"]
        >= 80
        > 55
        >= max(payment["chronic_late_payer"], payment.get("stopped_paying", 0))
    )
    # a deteriorating payer is reviewed again lately, with lower payment and financial scores
    slipping = con.execute(f"""
        select customer_id,
            arg_max(payment_score, review_date) < arg_min(payment_score, review_date),
            arg_max(financial_score, review_date) < arg_min(financial_score, review_date),
            max(review_date) > date '{TRUTH_END}' - 91
        from credit_reviews join truth using (customer_id)
        where kind = 'deteriorating_payer' group by 1
    """).fetchall()
    assert slipping and all(all(flags) for _, *flags in slipping)
