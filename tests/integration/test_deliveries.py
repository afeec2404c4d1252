"""Real ERP deliveries through the real pipeline and CLI: quarantined rows, rejected files,
re-deliveries, corrections, GB18030 with Chinese headers, and the landing sensor."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
import yaml
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.contract import EXTRACTS
from pipelines.defs.ingestion.sensors import LANDING_SENSOR
from pipelines.defs.publishing.publish import PER_AS_OF_TABLES, WHOLE_TABLES, prune_history
from pipelines.demo.generator import DemoSpec, generate
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT, apply_environment
from tests.support.dbt import dbt_test

pytestmark = pytest.mark.slow

AS_OF = date(2026, 3, 31)
NEXT = date(2026, 4, 1)
SPEC = DemoSpec(customers=30, days=90, end_date=AS_OF, seed=21)
SALES_HEADER = ",".join(EXTRACTS["sales"].column_names)
PUBLISHED = ("customer_facts", "customer_tiers", "credit_flags")


def _environment(mp: pytest.MonkeyPatch, root: Path) -> None:
    mp.setenv("CRM_LANDING_DIR", str(root / "landing"))
    mp.setenv("CRM_WAREHOUSE_PATH", str(root / "warehouse" / "crm.duckdb"))
    mp.setenv("CRM_CONFIG_PATH", str(PROJECT_ROOT / "config" / "crm.yaml"))
    mp.setenv("CRM_HEADER_MAP_PATH", str(PROJECT_ROOT / "config" / "header_map.yaml"))
    mp.setenv("CRM_EXPECTATIONS_DIR", str(PROJECT_ROOT / "expectations"))
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    mp.setenv("CRM_WORK_DB", "")


def _run(as_of: date, *options: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", "--as-of", as_of.isoformat(), *options])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """A landing folder with 90 days of history, published once as of 2026-03-31."""
    root = tmp_path_factory.mktemp("deliveries")
    generate(root / "landing", SPEC)
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, root)
        settings = apply_environment()
        code, output = _run(AS_OF)
        assert code == 0, output
        yield root, settings


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _query(settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _net_sales(settings, as_of: date) -> dict[str, str]:
    return dict(
        _query(
            settings,
            "select customer_id, net_sales_12m::varchar from reporting.customer_facts "
            "where as_of_date = ? order by 1",
            [as_of],
        )
    )


def _customers(root: Path) -> list[str]:
    text = sorted((root / "landing" / "customers").glob("*.csv"))[-1].read_text("utf-8")
    return [line.split(",")[0] for line in text.splitlines()[1:]]


def test_bad_rows_are_quarantined_and_the_good_ones_published(site):
    root, settings = site
    known = _customers(root)
    good = f"SO-T1,1,{NEXT},{known[0]},P00001,2,10.00,0.00,20.00,12.00,R001,"
    lines = [
        SALES_HEADER,
        good,
        f"SO-T1,2,{NEXT},999999,P00001,1,10.00,0.00,10.00,6.00,R001,",  # unknown customer
        f"SO-T1,3,{NEXT},{known[1]},NOPE,1,10.00,0.00,10.00,6.00,R001,",  # unknown product
        f"SO-T1,4,{NEXT},{known[2]},P00001,1,1O.00,0.00,10.00,6.00,R001,",  # letter O
        f"SO-T1,5,{NEXT},{known[3]},P00001,1,10.00",  # cut off
    ]
    path = root / "landing" / "sales" / f"sales_{NEXT:%Y%m%d}.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    before = _net_sales(settings, AS_OF)

    code, output = _run(NEXT)

    assert code == 0, output
    rejected = _query(
        settings,
        "select line_number, column_name, reason from reporting.rejected_rows "
        "where file_name = ? order by line_number, column_name",
        [f"sales/{path.name}"],
    )
    assert rejected == [
        (3, "customer_id", "unknown customer (not in any customers snapshot delivered so far)"),
        (4, "product_id", "unknown product (not in any products snapshot delivered so far)"),
        (5, "unit_price", "not an amount with at most 2 decimals"),
        (6, "*", "line has fewer fields than the header (cut off?)"),
        (6, "discount_amount", "missing value"),
        (6, "net_amount", "missing value"),
    ]
    manifest = _query(
        settings,
        "select rows_in_file, accepted_rows, rejected_rows, is_current "
        "from reporting.delivery_manifest where file_name = ?",
        [f"sales/{path.name}"],
    )
    assert manifest == [(5, 1, 4, True)]
    after = _net_sales(settings, NEXT)
    # the only accepted line adds 20.00 to its customer; 12 months still cover all history
    expected = dict(before) | {known[0]: f"{float(before[known[0]]) + 20:.2f}"}
    assert after == expected


def test_hostile_cells_misnamed_files_and_broken_references_are_named_not_loaded(site):
    """Cells the storage types cannot hold, AR documents whose references break the contract
    and files not named for it: the run publishes, and each is named with its reason."""
    root, settings = site
    landing = root / "landing"
    known = _customers(root)
    hostile = [
        f"SO-H1,1,{NEXT},{known[0]},P00001,1,４０３.２３,0.00,403.23,1.00,R001,",
        f"SO-H2,1,{NEXT},{known[0]},P00001,1,1{'0' * 20}.00,0.00,1{'0' * 20}.00,1.00,R001,",
        f"SO-H3,3000000000,{NEXT},{known[0]},P00001,1,1.00,0.00,1.00,1.00,R001,",
    ]
    # added to the day's file (a correction), which the later tests keep as it is
    sales_file = landing / "sales" / f"sales_{NEXT:%Y%m%d}.csv"
    lines = sales_file.read_text("utf-8").splitlines()
    sales_file.write_text("\n".join([*lines, *hostile]) + "\n", encoding="utf-8")
    first_hostile = len(lines) + 1
    docs = pl.concat(
        [
            pl.read_csv(p, infer_schema=False)
            for p in sorted((landing / "payments").glob("payments_*.csv"))
        ]
    ).filter(pl.col("status") == "posted")
    receipt = docs.filter(pl.col("doc_type") == "receipt").row(0, named=True)
    payer = receipt["customer_id"]
    invoice_of_another = docs.filter(
        (pl.col("doc_type") == "invoice") & (pl.col("customer_id") != payer)
    )["doc_id"][0]
    header = ",".join(EXTRACTS["payments"].column_names)
    payments_file = landing / "payments" / f"payments_{NEXT:%Y%m%d}.csv"
    payments_file.write_text(
        "\n".join(
            [
                header,
                f"RV-H0,reversal,{payer},{NEXT},,50.00,check,{receipt['doc_id']},posted",
                f"RV-H1,reversal,{payer},{NEXT},,50.00,check,RV-H0,posted",
                f"RC-H1,receipt,{payer},{NEXT},,70.00,bank_transfer,{invoice_of_another},posted",
                f"EX-H1,extension,{payer},{NEXT},2026-06-30,0.00,,INV-NEVER,posted",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    misnamed = [
        landing / "sales" / f"sales_{NEXT:%Y%m%d} (1).csv",
        landing / "sales" / f"sales_{NEXT:%Y-%m-%d}.csv",
    ]
    for path in misnamed:
        path.write_text(SALES_HEADER + "\n", encoding="utf-8")
    folder_like_a_file = landing / "payments" / "payments_20260402.csv"
    folder_like_a_file.mkdir()
    alerts = settings.dagster_home / "alerts.log"
    alerts_before = alerts.read_text("utf-8").count("\n") if alerts.exists() else 0
    balance_before = _query(
        settings,
        "select ar_balance from reporting.credit_flags where as_of_date = ? and customer_id = ?",
        [AS_OF, payer],
    )
    try:
        code, output = _run(NEXT)
    finally:
        for path in misnamed:
            path.unlink()
        folder_like_a_file.rmdir()
    assert code == 0, output
    rejected = _query(
        settings,
        "select file_name, line_number, column_name, reason from reporting.rejected_rows "
        "where file_name = ? or (file_name = ? and line_number >= ?) "
        "order by file_name, line_number, column_name",
        [f"payments/{payments_file.name}", f"sales/{sales_file.name}", first_hostile],
    )
    assert rejected == [
        (
            f"payments/{payments_file.name}",
            3,
            "reference_doc_id",
            "references a reversal (a reversal must reference a posted receipt)",
        ),
        (
            f"payments/{payments_file.name}",
            4,
            "reference_doc_id",
            "references a document of another customer (a receipt must reference a posted "
            "invoice of the same customer)",
        ),
        (
            f"payments/{payments_file.name}",
            5,
            "reference_doc_id",
            "references a document not delivered so far (a extension must reference a posted "
            "invoice)",
        ),
        (
            f"sales/{sales_file.name}",
            first_hostile,
            "unit_price",
            "not an amount with at most 2 decimals",
        ),
        (
            f"sales/{sales_file.name}",
            first_hostile + 1,
            "net_amount",
            "too large: more than 16 digits before the decimal point",
        ),
        (
            f"sales/{sales_file.name}",
            first_hostile + 1,
            "unit_price",
            "too large: more than 16 digits before the decimal point",
        ),
        (
            f"sales/{sales_file.name}",
            first_hostile + 2,
            "line_no",
            "beyond the whole numbers the column holds (-2147483648 to 2147483647)",
        ),
    ]
    # only the sound reversal moved the customer's AR: the broken documents changed nothing
    ((balance_after,),) = _query(
        settings,
        "select ar_balance from reporting.credit_flags where as_of_date = ? and customer_id = ?",
        [NEXT, payer],
    )
    assert balance_after == balance_before[0][0] + Decimal("50.00")
    names = [f"sales/{p.name}" for p in misnamed] + [f"payments/{folder_like_a_file.name}"]
    for name in names:
        assert name in output
    new_alerts = [
        json.loads(line) for line in alerts.read_text("utf-8").splitlines()[alerts_before:]
    ]
    (unloaded,) = [a for a in new_alerts if a["kind"] == "files_not_loaded"]
    assert sorted(f["file_name"] for f in unloaded["files"]) == sorted(names)
    report = sorted(
        (settings.warehouse_path.parent / "reports").glob(f"{NEXT}_*/index.html"),
        key=lambda p: p.stat().st_mtime,
    )[-1].read_text("utf-8")
    assert "Landed but not loaded" in report
    for name in names:
        assert name in report


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "sales_20260401.csv",
            SALES_HEADER.replace("net_amount,", "net_amount,net_amount,") + "\n",
            "sales/sales_20260401.csv: column(s) net_amount appear more than once in the header",
        ),
        (
            "sales_20260401.csv",
            SALES_HEADER
            + "\n"
            + "\n".join(
                f"SO-W{i},1,2026-03-15,000001,P00001,1,10.00,0.00,10.00,6.00,R001,"
                for i in range(3)
            ),
            "sales/sales_20260401.csv: every row's order_date (2026-03-15) differs from the "
            "business date 2026-04-01 in the file name",
        ),
        (
            "customers_20260401.csv",
            ",".join(EXTRACTS["customers"].column_names) + "\n",
            "customers/customers_20260401.csv: has a header but no rows",
        ),
        ("sales_20260401.csv", b"\xffbinary\xff", "not readable as UTF-8 or GB18030"),
        (
            "sales_20260401.csv",
            SALES_HEADER.encode("utf-16-le"),
            "sales/sales_20260401.csv: the file looks like UTF-16 (every other byte is zero)",
        ),
        (
            "sales_20260401.csv",
            SALES_HEADER
            + "\n"
            + "\n".join(
                f"SO-B{i},1,2026-04-01,000001,P00001,1,x,0.00,10.00,6.00,R001," for i in range(25)
            ),
            "sales/sales_20260401.csv: 25 of 25 rows (100%) break the contract, more than the "
            "20% allowed; most common: ",
        ),
    ],
    ids=[
        "duplicated-column",
        "wrong-date",
        "empty-snapshot",
        "unreadable",
        "utf-16-without-bom",
        "bad-row-share",
    ],
)
def test_a_rejected_file_changes_nothing_published(site, name, content, message):
    root, settings = site
    extract = name.split("_")[0]
    path = root / "landing" / extract / name
    previous = path.read_bytes() if path.exists() else None
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    before = _digest(settings.warehouse_path)
    try:
        code, output = _run(NEXT)
    finally:
        path.write_bytes(previous) if previous is not None else path.unlink()
    assert code == 1
    assert message in output
    assert "nothing was published" in output
    assert _digest(settings.warehouse_path) == before


def test_an_identical_redelivery_changes_nothing_and_a_correction_replaces_the_day(site):
    root, settings = site
    day_file = sorted((root / "landing" / "sales").glob("sales_202603*.csv"))[-3]
    name = f"sales/{day_file.name}"
    versions = _query(
        settings, "select count(*) from reporting.delivery_manifest where file_name = ?", [name]
    )[0][0]
    before = _net_sales(settings, NEXT)

    day_file.write_bytes(day_file.read_bytes())  # same content, new mtime
    code, output = _run(NEXT)
    assert code == 0, output
    assert (
        _query(
            settings, "select count(*) from reporting.delivery_manifest where file_name = ?", [name]
        )[0][0]
        == versions
    )
    assert _net_sales(settings, NEXT) == before

    lines = day_file.read_text("utf-8").splitlines()
    fields = lines[1].split(",")
    customer, quantity, price, discount = fields[3], int(fields[5]), float(fields[6]), fields[7]
    fields[5] = str(quantity + 1)
    fields[8] = f"{(quantity + 1) * price - float(discount):.2f}"
    delta = float(fields[8]) - float(lines[1].split(",")[8])
    day_file.write_text("\n".join([lines[0], ",".join(fields), *lines[2:]]) + "\n", "utf-8")

    code, output = _run(NEXT)
    assert code == 0, output
    manifest = _query(
        settings,
        "select is_current from reporting.delivery_manifest where file_name = ? order by loaded_at",
        [name],
    )
    assert [r[0] for r in manifest] == [False] * versions + [True]
    after = _net_sales(settings, NEXT)
    assert after == before | {customer: f"{float(before[customer]) + delta:.2f}"}


def _published_analyses(settings, as_of: date) -> dict[str, list[tuple]]:
    """Every published analysis of `as_of` (and the monthly tables whole), rows sorted, without
    the columns that name the run that wrote them."""
    tables = {}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        for table in [*PER_AS_OF_TABLES, *WHOLE_TABLES]:
            if table in ("data_quality_results", "rejected_rows", "delivery_manifest"):
                continue  # audit records of each run, not analyses
            columns = [r[0] for r in con.execute(f"describe reporting.{table}").fetchall()]
            kept = ", ".join(c for c in columns if c not in ("run_id", "published_at"))
            where = " where as_of_date = $1" if table in PER_AS_OF_TABLES else ""
            params = [as_of] if where else []
            tables[table] = sorted(
                con.execute(f"select {kept} from reporting.{table}{where}", params).fetchall(),
                key=repr,
            )
    return tables


def test_a_full_refresh_publishes_what_the_day_by_day_runs_published(site):
    """The compact sales facts were built cold for AS_OF, then day by day (NEXT's files, a
    redelivery, a correction of an earlier day); rebuilding them from every line publishes
    the same tables, to the cent."""
    root, settings = site
    with duckdb.connect(str(settings.work_db), read_only=True) as work:
        builds = work.execute(
            "select count(distinct changes_through) from intermediate.int_sales_customer_daily"
        ).fetchone()[0]
    assert builds >= 3  # rows written by at least three builds: the path really was incremental
    day_by_day = _published_analyses(settings, NEXT)
    assert len(day_by_day["customer_facts"]) == len(_customers(root))

    result = CliRunner().invoke(main, ["run", "--as-of", NEXT.isoformat(), "--full-refresh"])
    assert result.exit_code == 0, result.output

    with duckdb.connect(str(settings.work_db), read_only=True) as work:
        assert (
            work.execute(
                "select count(distinct changes_through) from intermediate.int_sales_customer_daily"
            ).fetchone()[0]
            == 1
        )  # rebuilt whole
    rebuilt = _published_analyses(settings, NEXT)
    assert rebuilt.keys() == day_by_day.keys()
    for table in rebuilt:
        assert rebuilt[table] == day_by_day[table], table
    # the as-of history survives a full refresh
    assert _query(settings, "select count(*) from reporting.customer_facts where as_of_date = ?",
                  [AS_OF]) == [(len(_customers(root)),)]  # fmt: skip


def test_a_repeated_key_in_what_a_build_wrote_fails_its_test_until_it_is_gone(site, tmp_path: Path):
    """The uniqueness tests of the incremental models read only the days, months or keys
    written since they last passed; a key repeated there (a missed delete) fails them, named,
    and goes on failing them whatever later builds write, until it is gone."""
    root, settings = site
    work_db = tmp_path / "work.duckdb"
    shutil.copy(settings.work_db, work_db)
    # table: (watermark, scope)
    tables = {
        "int_sales_customer_daily": ("changes_through", "order_date"),
        "int_sales_customer_monthly": ("changes_through", "month"),
        "int_ar_invoices": ("ledger_through", "invoice_id"),
    }

    def failing(result) -> set[str]:
        return {
            table
            for table in tables
            for line in result.stdout.splitlines()
            if "FAIL 1" in line and f"unique_in_latest_build_{table}_" in line
        }

    def write(statement: str) -> None:
        with duckdb.connect(str(work_db)) as work:
            for table, (watermark, scope) in tables.items():
                newest = f"(select max({watermark}) from intermediate.{table})"
                work.execute(
                    statement.format(
                        table=f"intermediate.{table}", w=watermark, s=scope, newest=newest
                    )
                )

    passed = dbt_test(work_db, tmp_path, list(tables), NEXT.isoformat())
    assert passed.returncode == 0, passed.stdout

    # a build writes the newest day (month, invoice) again and repeats one of its keys
    write(
        "insert into {table} select * replace ({newest} + interval 1 second as {w}) from {table} "
        "where {s} = (select max({s}) from {table}) limit 1"
    )
    failed = dbt_test(work_db, tmp_path, list(tables), NEXT.isoformat())
    assert failed.returncode != 0
    assert failing(failed) == set(tables), failed.stdout

    # the next build writes another day: the repeated key is still checked, and still fails
    write(
        "update {table} set {w} = {newest} + interval 1 second where {s} = (select min({s}) from {table})"
    )
    again = dbt_test(work_db, tmp_path, list(tables), NEXT.isoformat())
    assert failing(again) == set(tables), again.stdout

    # once the repeated row is gone, the tests pass
    write("delete from {table} where {w} = {newest} - interval 1 second")
    cleared = dbt_test(work_db, tmp_path, list(tables), NEXT.isoformat())
    assert cleared.returncode == 0, cleared.stdout
    with duckdb.connect(str(work_db), read_only=True) as work:
        recorded = work.execute(
            "select test_key from main.unique_in_latest_build_passes order by 1"
        ).fetchall()
    assert [key for (key,) in recorded if key.split(" ")[0].split(".")[1] in tables] == [
        "intermediate.int_ar_invoices (invoice_id)",
        "intermediate.int_sales_customer_daily (customer_id, order_date)",
        "intermediate.int_sales_customer_monthly (customer_id, month)",
    ]


def test_the_dbt_unit_tests_pass_and_daily_runs_leave_them_to_the_suite(site, tmp_path: Path):
    """Every dbt unit test (models' logic on hand-made inputs, see the models' YAML) passes;
    the daily build does not run them again."""
    root, settings = site
    work_db = tmp_path / settings.work_db.name  # views name their catalog: the same name
    shutil.copy(settings.work_db, work_db)
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text("utf-8"))
    unit_tests = {test["name"] for test in manifest["unit_tests"].values()}
    assert len(unit_tests) >= 8
    result = dbt_test(work_db, tmp_path, ["test_type:unit"], AS_OF.isoformat())
    assert result.returncode == 0, result.stdout
    passed = {
        line.split("::")[1].split(" ")[0]
        for line in result.stdout.splitlines()
        if " PASS " in line and "::" in line
    }
    assert passed == unit_tests, result.stdout

    # the newest daily build (this module's runs are the latest) ran models and tests only
    builds = sorted(
        (DBT_PROJECT_DIR / "target").glob("crm_dbt_models-*/run_results.json"),
        key=lambda p: p.stat().st_mtime,
    )
    ran = {r["unique_id"].split(".")[0] for r in json.loads(builds[-1].read_text())["results"]}
    assert ran == {"model", "test", "operation"}


def _chinese_headers(landing: Path) -> None:
    """Rewrite every header with the ERP names of config/header_map.yaml, in GB18030."""
    mapping = yaml.safe_load((PROJECT_ROOT / "config" / "header_map.yaml").read_text("utf-8"))
    for name, extract in EXTRACTS.items():
        reverse = {}
        for section in ("all", name):
            for erp, contract in (mapping.get(section) or {}).items():
                reverse.setdefault(contract, erp)
        header = ",".join(reverse.get(c, c) for c in extract.column_names)
        for path in (landing / name).glob("*.csv"):
            text = path.read_bytes().decode("gb18030")
            path.write_bytes((header + text[text.index("\n") :]).encode("gb18030"))


def test_gb18030_with_chinese_headers_publishes_the_same_as_its_utf8_twin(
    site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root, settings = site
    twin = tmp_path / "twin"
    generate(twin / "landing", DemoSpec(**{**SPEC.__dict__, "encoding": "gb18030"}))
    _chinese_headers(twin / "landing")
    assert "订单号" in (twin / "landing" / "sales").iterdir().__next__().read_bytes().decode(
        "gb18030"
    )
    _environment(monkeypatch, twin)
    twin_settings = apply_environment()
    code, output = _run(AS_OF)
    assert code == 0, output
    for table in PUBLISHED:
        sql = f"select * from reporting.{table} where as_of_date = ? order by customer_id"
        assert _query(twin_settings, sql, [AS_OF]) == _query(settings, sql, [AS_OF]), table


def _tick(sensor: dg.SensorDefinition, context: dg.SensorEvaluationContext):
    """One evaluation, inside the context (its resources are opened and closed with it)."""
    with context:
        return sensor.evaluate_tick(context)


def test_the_landing_sensor_starts_one_run_per_delivery(site, tmp_path: Path):
    root, settings = site
    from pipelines.definitions import defs

    sensor = defs.resolve_sensor_def(LANDING_SENSOR)
    with dg.instance_for_test() as instance:
        first = _tick(
            sensor,
            dg.build_sensor_context(instance=instance, definitions=defs, resources=defs.resources),
        )
        assert len(first.run_requests) == 1
        request = first.run_requests[0]
        assert request.partition_key == max(
            f"{p.stem[-8:-4]}-{p.stem[-4:-2]}-{p.stem[-2:]}"
            for p in (root / "landing").rglob("*.csv")
        )
        cursor = first.cursor
        again = _tick(
            sensor,
            dg.build_sensor_context(
                instance=instance, cursor=cursor, definitions=defs, resources=defs.resources
            ),
        )
        assert again.run_requests == [] and again.skip_message
        # the same bytes written again: still nothing to do
        some_file = sorted((root / "landing" / "payments").glob("*.csv"))[-1]
        some_file.write_bytes(some_file.read_bytes())
        touched = _tick(
            sensor,
            dg.build_sensor_context(
                instance=instance, cursor=again.cursor, definitions=defs, resources=defs.resources
            ),
        )
        assert touched.run_requests == []
        # a correction: one new run, with a new key
        original = some_file.read_bytes()
        some_file.write_bytes(original + b"\n")
        try:
            corrected = _tick(
                sensor,
                dg.build_sensor_context(
                    instance=instance,
                    cursor=touched.cursor,
                    definitions=defs,
                    resources=defs.resources,
                ),
            )
        finally:
            some_file.write_bytes(original)
        assert len(corrected.run_requests) == 1
        assert corrected.run_requests[0].run_key != request.run_key
        assert (
            json.loads(corrected.cursor)[f"payments/{some_file.name}"][0]
            != json.loads(cursor)[f"payments/{some_file.name}"][0]
        )


def test_backfill_publishes_each_date_in_turn(site):
    root, settings = site
    targets = DBT_PROJECT_DIR / "target"
    before = set(targets.glob("crm_dbt_models-*"))
    result = CliRunner().invoke(main, ["backfill", "--from", "2026-03-29", "--to", "2026-03-30"])
    assert result.exit_code == 0, result.output
    assert "2026-03-29: published" in result.output and "2026-03-30: published" in result.output
    # the dates after them rested on a state without them: they were run again, in order
    assert result.output.index("2026-03-31: published again") < result.output.index(
        "2026-04-01: published again"
    )
    dates = {
        r[0] for r in _query(settings, "select distinct as_of_date from reporting.customer_tiers")
    }
    assert {date(2026, 3, 29), date(2026, 3, 30), AS_OF} <= dates
    assert _query(settings, "select as_of_date from reporting.publication") == [(date(2026, 4, 1),)]
    # a backfilled date only sees what existed then
    assert _query(
        settings,
        "select count(*) from reporting.customer_facts "
        "where as_of_date = '2026-03-29' and last_order_date > '2026-03-29'",
    ) == [(0,)]
    # the date reaches dbt outside --vars: the second build (03-30's; 03-31's and 04-01's
    # followed) reused the first one's parse of the project, and what it ran (models and
    # the date-filtered tests) is for its own date
    builds = sorted(set(targets.glob("crm_dbt_models-*")) - before, key=lambda p: p.stat().st_mtime)
    assert len(builds) == 4
    second = builds[1]
    log = (second / "dbt.log").read_text(encoding="utf-8")
    assert "Partial parsing enabled" in log and "Unable to do partial parsing" not in log
    compiled = "\n".join(p.read_text("utf-8") for p in (second / "compiled").rglob("*.sql"))
    assert "cast('2026-03-30' as date)" in compiled
    assert "2026-03-29" not in compiled and "1970-01-01" not in compiled


def test_rows_of_a_failed_run_never_reach_a_later_publication(
    site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A run that fails its checks leaves its rows in the working database; the next run,
    for another date, publishes its own date and what was published before, nothing else."""
    _, settings = site
    suites = tmp_path / "expectations"
    shutil.copytree(PROJECT_ROOT / "expectations", suites)
    suite = json.loads((suites / "credit_flags.json").read_text())
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "ar_balance", "max_value": -1e12},
            "severity": "critical",
        }
    )
    (suites / "credit_flags.json").write_text(json.dumps(suite))
    with monkeypatch.context() as mp:
        mp.setenv("CRM_EXPECTATIONS_DIR", str(suites))
        code, _ = _run(date(2026, 3, 20))
    assert code == 1
    with duckdb.connect(str(settings.work_db), read_only=True) as work:
        assert (
            work.execute(
                "select count(*) from scoring.customer_tiers where as_of_date = '2026-03-20'"
            ).fetchone()[0]
            > 0
        )  # computed, then blocked
    published_before = _query(settings, "select distinct as_of_date from reporting.customer_tiers")
    # (the later dates that rest on 03-21 are not run again: test_order_of_runs does that)
    code, output = _run(date(2026, 3, 21), "--leave-later-dates")
    assert code == 0, output
    assert "later published dates rest on an earlier state: 2026-03-29, 2026-03-30" in output
    dates = _query(settings, "select distinct as_of_date from reporting.customer_tiers")
    assert set(dates) == set(published_before) | {(date(2026, 3, 21),)}
    for table in ("customer_facts", "credit_flags", "supply_cover", "credit_company_view"):
        assert _query(
            settings, f"select count(*) from reporting.{table} where as_of_date = '2026-03-20'"
        ) == [(0,)]


def test_every_publication_is_kept_read_only_in_the_history(site):
    root, settings = site
    warehouse = settings.warehouse_path
    published = _query(
        settings, "select run_id, as_of_date, history_file from reporting.publication_history"
    )
    # the first run, the corrections, the backfill... every successful run of this module
    assert len(published) >= 4
    files = sorted((warehouse.parent / "history").glob("crm_*.duckdb"))
    assert [f.name for f in files] == sorted(h for _, _, h in published)
    # the newest state in the history is the published file itself, and nobody can write it
    assert files[-1].stat().st_ino == warehouse.stat().st_ino
    assert warehouse.stat().st_mode & 0o222 == 0
    # an older state opens on its own and says what it was
    run_id, as_of, name = published[0]
    with duckdb.connect(str(warehouse.parent / "history" / name), read_only=True) as old:
        assert old.execute("select run_id, as_of_date from reporting.publication").fetchall() == [
            (run_id, as_of)
        ]


def test_history_keeps_the_newest_states(tmp_path: Path):
    warehouse = tmp_path / "crm.duckdb"
    (tmp_path / "history").mkdir()
    names = [f"crm_2026112{d}T060000_asof2026112{d}_abcdef12.duckdb" for d in range(5)]
    for name in names:
        (tmp_path / "history" / name).write_bytes(b"")
    (tmp_path / "history" / "notes.txt").write_text("kept")
    removed = prune_history(warehouse, 2)
    assert [p.name for p in removed] == names[:3]
    assert sorted(p.name for p in (tmp_path / "history").iterdir()) == [*names[3:], "notes.txt"]


def test_a_first_run_refusing_a_file_reports_it_and_publishes_nothing(tmp_path: Path):
    """The very first run stops at ingestion (no check has run, no audit table exists yet):
    the message names the file, the auditors' report is still written, nothing is published."""
    root = tmp_path / "site"
    generate(root / "landing", DemoSpec(customers=8, days=20, end_date=AS_OF, seed=3))
    bad = root / "landing" / "sales" / f"sales_{AS_OF:%Y%m%d}.csv"
    bad.write_text("order_id,order_id\nSO1,SO1\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, root)
        settings = apply_environment()
        code, output = _run(AS_OF)
    assert code == 1, output
    assert f"sales/{bad.name}: column(s) order_id appear more than once" in output
    assert "nothing was published" in output
    assert not settings.warehouse_path.exists()
    (report,) = (settings.warehouse_path.parent / "reports").glob("*/index.html")
    assert f"Auditors' report of what was checked: {report}" in output
    checks = (report.parent / "checks.csv").read_text(encoding="utf-8")
    assert checks.splitlines() == [
        "check_source,table_name,check_name,column_name,severity,passed,element_count,"
        "unexpected_count,observed_value"
    ]
