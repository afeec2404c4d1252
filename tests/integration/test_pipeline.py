"""The real pipeline (Dagster -> dbt -> Polars -> GX -> publish) on a generated landing folder,
checked against figures computed independently from the CSV files with DuckDB SQL, and the AR
position against the plain-Python ledger of tests/reference_ar.py."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from pipelines.cli import main
from pipelines.config import CrmConfig
from pipelines.contract import EXTRACTS
from pipelines.defs.customer_value.clv import score_clv
from pipelines.demo.generator import DemoSpec, generate
from pipelines.runner import run_pipeline
from pipelines.settings import PROJECT_ROOT, Settings, apply_environment
from tests.reference_ar import FIELDS, read_payments, reference_ledger, to_cents
from tests.support.webhook import webhook

pytestmark = pytest.mark.slow

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("pipeline")
    generate(root / "landing", DemoSpec(customers=80, days=420, end_date=AS_OF, seed=11))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRM_LANDING_DIR", str(root / "landing"))
        mp.setenv("CRM_WAREHOUSE_PATH", str(root / "warehouse" / "crm.duckdb"))
        mp.setenv("CRM_CONFIG_PATH", str(PROJECT_ROOT / "config" / "crm.yaml"))
        mp.setenv("CRM_EXPECTATIONS_DIR", str(PROJECT_ROOT / "expectations"))
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        mp.setenv("CRM_WORK_DB", "")
        settings = apply_environment()
        outcome = run_pipeline(settings, AS_OF, log_level="WARNING")
        yield root, settings, outcome


@pytest.fixture(scope="module")
def warehouse(env) -> duckdb.DuckDBPyConnection:
    _, settings, outcome = env
    assert outcome.success, outcome.errors
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    yield con
    con.close()


def _csv(landing: Path, extract: str, filename: bool = False) -> str:
    return (
        f"read_csv('{landing}/{extract}/*.csv', all_varchar = true, header = true, "
        f"filename = {str(filename).lower()})"
    )


def test_run_publishes_every_table(env, warehouse):
    _, _, outcome = env
    tables = {
        r[0]
        for r in warehouse.execute(
            "select table_name from information_schema.tables where table_schema = 'reporting'"
        ).fetchall()
    }
    assert {
        "customer_facts",
        "customer_tiers",
        "credit_flags",
        "data_quality_results",
        "rejected_rows",
    } <= tables
    assert outcome.published_rows["customer_tiers"] == outcome.published_rows["credit_flags"]


def test_every_published_column_is_described(warehouse):
    undescribed = warehouse.execute(
        "select table_name, column_name from duckdb_columns() where schema_name = 'reporting' "
        "and coalesce(comment, '') = '' order by 1, 2"
    ).fetchall()
    assert undescribed == []
    tables = warehouse.execute(
        "select table_name from duckdb_tables() where schema_name = 'reporting' "
        "and coalesce(comment, '') = ''"
    ).fetchall()
    assert tables == []


def test_each_published_table_is_an_asset_with_its_columns_and_rows(env, warehouse):
    """The publication materializes one asset per published table, with the columns BI
    tools see and the rows of the as-of date; the warehouse asset names the file and report."""
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.defs.publishing.publish import PER_AS_OF_TABLES, PUBLISHED_TABLES

    _, settings, outcome = env
    with dg.DagsterInstance.get() as instance:
        events = instance.all_logs(
            outcome.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        )
    materialized = {
        e.dagster_event.asset_key.to_user_string(): (
            e.dagster_event.step_materialization_data.materialization
        )
        for e in events
    }
    graph = defs.resolve_asset_graph()
    for table in PUBLISHED_TABLES:
        materialization = materialized[f"reporting/{table}"]
        assert materialization.partition == AS_OF.isoformat()
        metadata = materialization.metadata
        published = warehouse.execute(
            "select column_name, data_type, coalesce(comment, '') from duckdb_columns() "
            "where database_name = current_database() and schema_name = 'reporting' "
            "and table_name = ? order by column_index",
            [table],
        ).fetchall()
        schema = metadata["dagster/column_schema"].value
        assert [
            (c.name, c.type, (c.description or "").replace("\\<", "<")) for c in schema.columns
        ] == published
        # the definition shows the same columns and descriptions before any run
        defined = graph.get(dg.AssetKey(["reporting", table])).metadata["dagster/column_schema"]
        assert {c.name: (c.description or "").replace("\\<", "<") for c in defined.columns} == {
            name: comment for name, _, comment in published
        }
        where = " where as_of_date = ?" if table in PER_AS_OF_TABLES else ""
        (rows,) = warehouse.execute(
            f"select count(*) from reporting.{table}{where}", [AS_OF] if where else []
        ).fetchone()
        assert metadata["dagster/row_count"].value == rows, table
        assert metadata["dagster/partition_row_count"].value == rows, table
        (total,) = warehouse.execute(f"select count(*) from reporting.{table}").fetchone()
        assert metadata["rows_in_table"].value == total == outcome.published_rows[table]
    (tiers,) = warehouse.execute(
        "select count(*) from reporting.customer_tiers where as_of_date = ?", [AS_OF]
    ).fetchone()
    assert tiers > 0
    assert materialized["reporting/customer_tiers"].metadata["dagster/row_count"].value == tiers
    publication = materialized["reporting/warehouse"].metadata
    assert publication["path"].value == str(settings.warehouse_path)
    assert Path(publication["report"].value) == outcome.report and outcome.report.is_file()


def test_one_row_per_customer_of_the_master(env, warehouse):
    root, _, _ = env
    landing = root / "landing"
    master = duckdb.sql(
        f"select distinct customer_id from {_csv(landing, 'customers')} "
        f"where filename like '%customers_20260629.csv' or filename like '%customers_20260630.csv'"
    ).fetchall()
    expected = {r[0] for r in master}
    for table in ("customer_tiers", "credit_flags", "customer_facts"):
        rows = warehouse.execute(
            f"select customer_id, count(*) from reporting.{table} where as_of_date = ? group by 1",
            [AS_OF],
        ).fetchall()
        assert {c for c, _ in rows} == expected, table
        assert {n for _, n in rows} == {1}, table
    assert all(len(c) == 6 for c in expected)  # ids keep their leading zeros


def test_net_sales_12m_per_customer_equals_the_csvs_to_the_cent(env, warehouse):
    root, _, _ = env
    independent = dict(
        duckdb.sql(f"""
        select customer_id, sum(net_amount::decimal(18, 2))::varchar
        from {_csv(root / "landing", "sales")}
        where order_date::date > date '{AS_OF}' - 365 and order_date::date <= date '{AS_OF}'
        group by 1
    """).fetchall()
    )
    published = dict(
        warehouse.execute(
            "select customer_id, monetary_12m::decimal(18, 2)::varchar from reporting.customer_tiers "
            "where as_of_date = ? and monetary_12m <> 0",
            [AS_OF],
        ).fetchall()
    )
    assert published == {c: v for c, v in independent.items() if float(v) != 0}
    assert len(published) > 50


def test_ar_balance_per_customer_equals_the_csvs_to_the_cent(env, warehouse):
    root, _, _ = env
    independent = dict(
        duckdb.sql(f"""
        select customer_id, sum(case when doc_type in ('invoice', 'reversal') then 1
                                     when doc_type in ('receipt', 'credit_note') then -1
                                     else 0 end * amount::decimal(18, 2))::varchar
        from {_csv(root / "landing", "payments")}
        where doc_date::date <= date '{AS_OF}' and status = 'posted'
        group by 1
    """).fetchall()
    )
    published = dict(
        warehouse.execute(
            "select customer_id, ar_balance::decimal(18, 2)::varchar from reporting.credit_flags "
            "where as_of_date = ? and customer_id in (select customer_id from reporting.credit_flags)",
            [AS_OF],
        ).fetchall()
    )
    assert {c: v for c, v in published.items() if c in independent} == independent
    # the demo has every kind of AR document, so the ledger is exercised for real
    kinds = {
        r[0]
        for r in duckdb.sql(
            f"select distinct doc_type from {_csv(root / 'landing', 'payments')}"
        ).fetchall()
    }
    assert kinds == {"invoice", "receipt", "credit_note", "reversal", "extension"}
    buckets = warehouse.execute(
        "select count(*) from reporting.credit_flags where abs(ar_current + ar_1_30 + ar_31_60 "
        "+ ar_61_90 + ar_91_180 + ar_over_180 - unapplied_credit - ar_balance) > 0.005"
    ).fetchone()[0]
    assert buckets == 0


def test_clv_is_reproducible_and_is_what_was_published(env, warehouse, config: CrmConfig):
    """F8 on the generated customers: fitting twice on the same facts gives the same scores,
    and they are the published ones."""
    _, settings, _ = env
    with duckdb.connect(str(settings.work_db), read_only=True) as work:
        facts = work.execute(
            "select * from marts.customer_facts where as_of_date = ?", [AS_OF]
        ).pl()
    first = score_clv(facts, config.clv)
    second = score_clv(facts, config.clv)
    assert_frame_equal(first, second, check_exact=True)

    scores = ["p_alive", "expected_purchases_365d", "clv_12m"]
    published = warehouse.execute(
        f"select customer_id, {', '.join(scores)} from reporting.customer_tiers "
        "where as_of_date = ?",
        [AS_OF],
    ).pl()
    assert sorted(first["customer_id"]) == sorted(published["customer_id"])
    both = first.join(published, on="customer_id", suffix="_published")
    for name in scores:
        ours, theirs = pl.col(name).cast(pl.Float64), pl.col(f"{name}_published").cast(pl.Float64)
        differing = both.filter(
            (ours.is_null() != theirs.is_null()) | ((ours - theirs).abs() > 1e-9 * theirs.abs())
        )
        assert differing.is_empty(), differing.select("customer_id", name, f"{name}_published")
    # the models were fitted and scored most customers, not a handful
    scored = first.filter(pl.col("clv_12m").is_not_null())
    assert scored.height >= 0.75 * facts.filter(pl.col("first_order_date").is_not_null()).height
    assert scored.height >= 50
    assert set(first.filter(pl.col("clv_12m").is_null())["clv_null_reason"]) <= {"no purchases"}


def test_ar_position_per_customer_equals_the_reference_ledger_to_the_cent(env, warehouse):
    """Every published F21 figure equals the plain-Python ledger of tests/reference_ar.py run
    on the landed payments CSV files (csv module, Decimal), customer by customer."""
    root, _, _ = env
    # the CSV rows are the ledger's input only if ingestion accepted every one of them
    rejected = warehouse.execute(
        "select count(*) from reporting.rejected_rows where extract = 'payments'"
    ).fetchone()[0]
    assert rejected == 0
    ledger = reference_ledger(read_payments(root / "landing"), AS_OF)
    expected = ledger.positions()
    rows = warehouse.execute(
        f"select customer_id, {', '.join(FIELDS)} from reporting.credit_flags "
        "where as_of_date = ? order by customer_id",
        [AS_OF],
    ).fetchall()
    assert len(rows) > 50
    zeros = dict.fromkeys(FIELDS, to_cents(0))
    mismatches = {}
    for customer_id, *values in rows:
        published = {name: to_cents(v) for name, v in zip(FIELDS, values, strict=True)}
        reference = {n: to_cents(v) for n, v in expected.get(customer_id, zeros).items()}
        if published != reference:
            mismatches[customer_id] = {
                n: (str(published[n]), str(reference[n]))
                for n in FIELDS
                if published[n] != reference[n]
            }
    assert mismatches == {}  # customer -> {figure: (published, reference)}
    # every customer with AR documents is published (the master holds them all)
    assert set(expected) <= {r[0] for r in rows}
    # not vacuous: the demo exercises every hard case of the ledger on the as-of date
    assert any(credit > 0 for credit in ledger.unapplied_credit.values())
    assert ledger.cancelled_receipts  # receipts cancelled by a reversal
    assert ledger.moved_due_dates  # invoices whose due date an extension moved
    assert any(invoice.is_partially_paid for invoice in ledger.invoices.values())
    assert sum(1 for p in expected.values() if p["overdue_amount"] > 0) >= 5
    assert any(p["ar_over_180"] > 0 for p in expected.values())


def test_quality_results_are_published_with_the_run(env, warehouse):
    _, _, outcome = env
    results = warehouse.execute(
        "select check_source, table_name, bool_and(passed), count(*) "
        "from reporting.data_quality_results where run_id = ? and check_source <> 'dbt_test' "
        "group by 1, 2 order by 1, 2",
        [outcome.run_id],
    ).fetchall()
    published_suites = [
        "complaints_monthly",
        "credit_company_view",
        "credit_flag_changes",
        "credit_flags",
        "credit_scorecard",
        "credit_watch_list",
        "customer_composition",
        "customer_facts",
        "customer_monthly_performance",
        "customer_retention_monthly",
        "customer_tiers",
        "key_account_supply_risk",
        "product_performance",
        "prospect_grades",
    ]
    assert [(s, t, ok) for s, t, ok, _ in results] == [
        *[("great_expectations", name, True) for name in published_suites],
        *[("great_expectations", f"raw.{name}", True) for name in sorted(EXTRACTS)],
        ("great_expectations", "region_monthly_performance", True),
        ("great_expectations", "supply_cover", True),
        ("great_expectations", "tier_migrations", True),
        ("reconciliation", "credit_flags", True),
        ("reconciliation", "customer_tiers", True),
    ]
    dbt_tests = dict(
        warehouse.execute(
            "select check_name, passed from reporting.data_quality_results "
            "where run_id = ? and check_source = 'dbt_test' and table_name = 'customer_ar'",
            [outcome.run_id],
        ).fetchall()
    )
    assert dbt_tests == {"assert_ar_balance_identity": True, "not_null": True, "unique": True}


def test_a_failing_validation_blocks_publication_and_keeps_the_warehouse(
    env, warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root, settings, first = env
    before = hashlib.sha256(settings.warehouse_path.read_bytes()).hexdigest()
    suites = tmp_path / "expectations"
    shutil.copytree(PROJECT_ROOT / "expectations", suites)
    suite = json.loads((suites / "credit_flags.json").read_text())
    suite["expectations"].append(
        {  # no real ledger can meet this
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "ar_balance", "max_value": -1e12},
            "severity": "critical",
        }
    )
    (suites / "credit_flags.json").write_text(json.dumps(suite))
    monkeypatch.setenv("CRM_EXPECTATIONS_DIR", str(suites))

    result = CliRunner().invoke(main, ["run", "--as-of", AS_OF.isoformat()])

    assert result.exit_code == 1
    assert "FAILED; nothing was published" in result.output
    assert "check gx_credit_flags on scoring/credit_flags failed" in result.output
    assert "expect_column_values_to_be_between(ar_balance)" in result.output
    # said once, by the check: not again by the step it stopped
    messages = [ln for ln in result.output.splitlines() if ln.startswith("  - ")]
    assert [m for m in messages if "gx_credit_flags" in m] == [
        m for m in messages if m.startswith("  - check gx_credit_flags on scoring/credit_flags")
    ]
    assert len(messages) == 1 and "DagsterAssetCheckFailedError" not in messages[0]
    assert hashlib.sha256(settings.warehouse_path.read_bytes()).hexdigest() == before
    # the failure is on the audit trail of the working database, ready for the next publication
    with duckdb.connect(str(settings.work_db), read_only=True) as work:
        failed = work.execute(
            "select table_name, column_name from audit.data_quality_results "
            "where run_id <> ? and not passed",
            [first.run_id],
        ).fetchall()
    assert failed == [("credit_flags", "ar_balance")]
    # and in the run's report, which says nothing was published
    report = Path(result.output.split("Auditors' report of what was checked: ")[1].split()[0])
    page = report.read_text(encoding="utf-8")
    assert "Not published" in page
    assert page.count('class="fail">FAIL</td>') == 1


def test_a_rejected_file_fails_the_run_naming_file_and_column(env, monkeypatch):
    root, settings, _ = env
    before = hashlib.sha256(settings.warehouse_path.read_bytes()).hexdigest()
    bad = root / "landing" / "payments" / "payments_20260701.csv"
    bad.write_text(
        "doc_id,doc_type,customer_id,doc_date,amount,method,reference_doc_id,status\n"
        "X1,invoice,000001,2026-07-01,10.00,,,posted\n",
        encoding="utf-8",
    )
    alerts = settings.dagster_home / "alerts.log"
    alerted_before = alerts.read_text().count("\n") if alerts.exists() else 0
    try:
        with webhook() as (url, received):
            monkeypatch.setenv("CRM_ALERT_WEBHOOK_URL", url)
            result = CliRunner().invoke(main, ["run", "--as-of", "2026-07-01"])
    finally:
        bad.unlink()
    assert result.exit_code == 1
    message = "payments/payments_20260701.csv: required column(s) due_date missing from the header"
    assert message in result.output
    assert hashlib.sha256(settings.warehouse_path.read_bytes()).hexdigest() == before
    # the failure is alerted: a line in the alert log, the same posted to the webhook
    lines = alerts.read_text().splitlines()[alerted_before:]
    assert len(lines) == 1
    alert = json.loads(lines[0])
    assert alert["kind"] == "run_failed" and alert["as_of_date"] == "2026-07-01"
    assert message in alert["summary"] and alert["webhook"] == "sent"
    assert received == [{k: v for k, v in alert.items() if k != "webhook"}]
    # rejected at once: a file the contract refuses is not retried
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        retries = instance.all_logs(alert["run_id"], of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
        failures = instance.all_logs(alert["run_id"], of_type=dg.DagsterEventType.STEP_FAILURE)
    assert retries == [] and len(failures) == 1


def test_definitions_load_with_the_whole_graph():
    from pipelines.definitions import DAILY_JOB, defs

    job = defs.resolve_job_def(DAILY_JOB)
    assert job.partitions_def is not None
    assert defs.resolve_schedule_def("daily_pipeline_schedule").job_name == DAILY_JOB
    assert defs.resolve_sensor_def("landing_sensor").job_name == DAILY_JOB
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {
        "raw/sales",
        "raw/payments",
        "marts/customer_facts",
        "marts/customer_ar",
        "scoring/customer_tiers",
        "scoring/credit_flags",
        "reporting/warehouse",
        "reporting/customer_tiers",
    } <= keys
    # every asset is materializable (dbt sources are the ingestion assets, none is external)
    assert all(graph.get(k).is_materializable for k in graph.get_all_asset_keys())
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {
        "ingestion",
        "staging",
        "transform",
        "customer_value",
        "credit",
        "supply",
        "prospects",
        "publishing",
    } <= groups


def test_settings_resolve_relative_paths_against_the_project(isolated_env: Settings):
    assert isolated_env.work_db.name == "crm_work.duckdb"
    assert isolated_env.work_db.parent == isolated_env.warehouse_path.parent / ".work"


def test_supply_cover_of_key_accounts_equals_the_csvs(env, warehouse, config):
    root, _, _ = env
    landing = root / "landing"
    minimum = config.supply_cover.min_sell_in_value_cny
    independent = {
        (c, p): (v, value)
        for c, p, v, value in duckdb.sql(f"""
        with snapshots as (
            select customer_id, product_id, snapshot_date::date as snapshot_date,
                quantity_on_hand::double as stock
            from {_csv(landing, "inventory")}
            where snapshot_date::date <= date '{AS_OF}' and customer_id <> 'DC'
        ), latest as (  -- each customer's latest snapshot, trusted up to 45 days
            select customer_id, max(snapshot_date) as snapshot_date from snapshots group by 1
            having date '{AS_OF}' - max(snapshot_date) <= 45
        ), stock as (  -- what that snapshot says, nothing older
            select snapshots.* from snapshots join latest using (customer_id, snapshot_date)
        ), sell_in as (
            select customer_id, product_id, sum(quantity::double) as quantity,
                sum(net_amount::decimal(18, 2)) as value,
                max(order_date::date) filter (where quantity::double > 0) as last_purchase
            from {_csv(landing, "sales")}
            where order_date::date between date '{AS_OF}' - 27 and date '{AS_OF}'
            group by all
        )
        -- the ERP omits zero-stock lines: bought but not on the snapshot = none in stock,
        -- unless bought after the snapshot was taken (then unknown)
        select customer_id, product_id, round(coalesce(stock.stock, 0) / (quantity / 28), 1),
            value::double
        from sell_in join latest using (customer_id)
        left join stock using (customer_id, product_id)
        where quantity > 0 and (stock.stock is not null or last_purchase <= latest.snapshot_date)
    """).fetchall()
    }
    published = warehouse.execute(
        "select customer_id, product_id, days_of_cover, is_below_threshold, threshold_days "
        "from reporting.supply_cover where as_of_date = ?",
        [AS_OF],
    ).fetchall()
    key_accounts = {
        r[0]
        for r in warehouse.execute(
            "select customer_id from reporting.customer_tiers where as_of_date = ? "
            "and (size_tier in ('vip', 'large') or abc_class = 'A')",
            [AS_OF],
        ).fetchall()
    }
    covered = {(c, p): v for c, p, v, _, _ in published if v is not None}
    expected = {k: v for k, v in independent.items() if k[0] in key_accounts}
    assert covered == {k: days for k, (days, _) in expected.items()}
    assert {c for c, *_ in published} <= key_accounts
    # 2026-06-30 is outside the peak-season weeks: the normal threshold, and some are short
    assert {t for *_, t in published} == {14.0}
    flagged = {(c, p) for c, p, _, below, _ in published if below}
    assert flagged == {k for k, (days, value) in expected.items() if days < 14 and value >= minimum}
    assert flagged

    # the summary per key account counts the same flags and ranks the accounts at risk
    summary = warehouse.execute(
        "select customer_id, products_at_risk, risk_rank from reporting.key_account_supply_risk "
        "where as_of_date = ? order by risk_rank nulls last, customer_id",
        [AS_OF],
    ).fetchall()
    assert {c for c, *_ in summary} == {c for c, *_ in published}
    assert {c: n for c, n, _ in summary if n} == {
        c: sum(1 for k in flagged if k[0] == c) for c in {k[0] for k in flagged}
    }
    ranks = [r for _, n, r in summary if n]
    assert ranks == list(range(1, len(ranks) + 1))
    assert all(r is None for _, n, r in summary if not n)


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("no Chromium on this machine: `make browser` installs Debian's")


def test_the_auditors_report_renders_in_a_browser(env, warehouse):
    _, settings, outcome = env
    report = outcome.report
    assert (
        report
        == settings.warehouse_path.parent / "reports" / (f"{AS_OF}_{outcome.run_id}") / "index.html"
    )
    browser = _browser()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [browser, *flags, "--virtual-time-budget=5000", "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    # what the browser rendered: status, checks, reconciliation, deliveries, rejects, pictures
    assert "Published: every blocking check passed" in dom
    checks = warehouse.execute(
        "select count(*), count(*) filter (where not passed) from reporting.data_quality_results "
        "where run_id = ?",
        [outcome.run_id],
    ).fetchone()
    assert f"{checks[0]:,} checks run: {checks[0] - checks[1]:,} passed," in dom
    for figure in ("net_sales_12m_total", "gross_margin_12m_total", "ar_balance_total"):
        assert f"<td>{figure}</td>" in dom
    files, rows = warehouse.execute(
        "select count(*), sum(rows_in_file) from reporting.delivery_manifest where run_id = ?",
        [outcome.run_id],
    ).fetchone()
    assert f"{files:,} files, {rows:,} rows" in dom
    assert "rows rejected on arrival by this run" in dom
    # three pictures on a first run (no migrations yet), every one of them drawn
    assert dom.count("<figure>") == 3
    assert 'data-pictures-shown="3"' in dom
    shot = PROJECT_ROOT / ".test-artifacts" / "auditors_report.png"
    shot.parent.mkdir(exist_ok=True)
    subprocess.run(
        [browser, *flags, "--window-size=1200,2400", f"--screenshot={shot}", report.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1200, 2400)
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 100  # not blank
    print(f"\nscreenshot of the auditors' report: {shot}")
    # a report is written once: the same run cannot overwrite it
    from pipelines.defs.publishing.report import RunFacts, build_report

    with pytest.raises(FileExistsError):
        build_report(
            settings.work_db,
            settings.warehouse_path,
            RunFacts(outcome.run_id, AS_OF, "x", published=True),
        )


def _pii_values(landing: Path) -> set[str]:
    """Every PII value delivered (docs/analyses.md#extract-contract), as the ERP wrote it."""
    columns = {
        "customers": ["customer_name", "contact_name", "phone", "address", "legal_representative"],
        "prospects": ["name"],
    }
    values: set[str] = set()
    for extract, names in columns.items():
        for row in duckdb.sql(
            f"select distinct {', '.join(names)} from {_csv(landing, extract)}"
        ).fetchall():
            values |= {v.strip() for v in row if v and v.strip()}
    return values


def test_no_pii_in_published_tables_reports_or_logs(env, warehouse):
    root, settings, _ = env
    pii = _pii_values(root / "landing")
    assert len(pii) > 300  # names, contacts, phones, addresses, representatives, leads
    # every text column of every published table, and the descriptions BI tools show
    texts: set[str] = set()
    for schema, table, column in warehouse.execute(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where data_type = 'VARCHAR' and database_name = current_database()"
    ).fetchall():
        texts |= {
            r[0]
            for r in warehouse.execute(
                f'select distinct "{column}"::varchar from {schema}.{table} '
                f'where "{column}" is not null'
            ).fetchall()
        }
    texts |= {
        r[0]
        for r in warehouse.execute(
            "select comment from duckdb_columns() where comment is not null union "
            "select comment from duckdb_tables() where comment is not null"
        ).fetchall()
    }
    published = "\n".join(texts)
    assert [v for v in pii if v in published] == []
    # every file of the auditors' reports, of the Dagster instance (run and event logs) and
    # of dbt's logs
    folders = [
        settings.warehouse_path.parent / "reports",
        settings.dagster_home,
        PROJECT_ROOT / "dbt_project" / "logs",
    ]
    files = [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in files) and any(p.suffix == ".db" for p in files)
    leaks = {
        str(p): v
        for p in files
        for content in [p.read_bytes()]
        for v in pii
        if v.encode("utf-8") in content
    }
    assert leaks == {}


def test_prospects_already_customers_are_found_by_keyed_hash(env, warehouse):
    root, _, _ = env
    landing = root / "landing"
    # independently: a lead whose name, without spaces, is a customer's name in force
    expected = dict(
        duckdb.sql(f"""
        with customers as (
            select customer_id, replace(customer_name, ' ', '') as name
            from {_csv(landing, "customers", filename=True)}
            where filename = (select max(filename) from {_csv(landing, "customers", True)})
        ), prospects as (
            select prospect_id, replace(name, ' ', '') as name
            from {_csv(landing, "prospects", filename=True)}
            where filename = (select max(filename) from {_csv(landing, "prospects", True)})
        )
        select prospect_id, min(customer_id) from prospects join customers using (name)
        group by all
    """).fetchall()
    )
    published = dict(
        warehouse.execute(
            "select prospect_id, existing_customer_id from reporting.prospect_grades "
            "where as_of_date = ? and existing_customer_id is not null",
            [AS_OF],
        ).fetchall()
    )
    assert published == expected and len(published) >= 1
    keys = warehouse.execute(
        "select count(*), count(customer_name_key), count(distinct customer_name_key) "
        "from reporting.customer_facts where as_of_date = ? and is_in_master",
        [AS_OF],
    ).fetchone()
    assert keys[0] == keys[1] == keys[2]  # every customer keyed, no two alike
