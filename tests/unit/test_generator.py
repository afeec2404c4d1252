"""The demo generator: deterministic, on contract, and shaped like a real customer base."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.demo import generator
from pipelines.demo.generator import DemoSpec, generate
from pipelines.ingestion.contract import EXTRACTS
from pipelines.ingestion.loader import ingest

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
