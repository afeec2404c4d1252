"""`crm-pipeline check`: the contract checks the load would run on every new or changed landed
file, reported per file, with nothing loaded; a real run then quarantines what it predicted."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

from pipelines.cli import EXIT_REFUSED, main
from pipelines.contract import EXTRACTS
from pipelines.defs.ingestion.ingest import ingest
from pipelines.defs.ingestion.options import ingest_options
from pipelines.resources import CrmResource
from pipelines.settings import Settings
from tests.unit.test_loader import CUSTOMERS, INVENTORY, PAYMENTS, PRODUCTS, SALES_HEADER, _write

DAY_ONE, DAY_TWO = date(2026, 3, 2), date(2026, 3, 3)
OPTIONAL = ", ".join(e.name for e in EXTRACTS.values() if e.optional)
CUSTOMER_TYPES = ", ".join(
    next(c for c in EXTRACTS["customers"].columns if c.name == "customer_type").domain
)
PAYMENTS_HEADER = PAYMENTS.splitlines()[0]
# the PII cells of the second day's customers snapshot: none may be printed
PLANTED = ["ZZPII-name-2", "ZZPII-contact-2", "13999000002", "ZZPII-address-2", "ZZPII-legal-2"]


def _check(*args: str) -> Result:
    return CliRunner().invoke(main, ["check", *args])


def _digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` by relative path (empty when it does not exist)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _land_day_one(landing: Path) -> None:
    _write(landing, "customers", "20260302", CUSTOMERS)
    _write(landing, "products", "20260302", PRODUCTS)
    _write(landing, "payments", "20260302", PAYMENTS)
    _write(landing, "inventory", "20260228", INVENTORY)
    _write(
        landing,
        "sales",
        "20260302",
        "\n".join(
            [
                SALES_HEADER,
                "SO1,1,2026-03-02,000001,P00001,2,65.00,10.00,120.00,80.00,R001,PROMO1",
                "SO1,2,2026-03-02,000001,P00001,1,65.00,0.00,65.00,40.00,R001,",
            ]
        )
        + "\n",
    )


def _land_day_two(landing: Path) -> list[Path]:
    """The second day's delivery: known bad rows (some of them bad only against the first
    day's deliveries), two refused files and a misnamed one; returns the refused files."""
    customer = CUSTOMERS.splitlines()[1]
    _write(
        landing,
        "customers",
        "20260303",
        "\n".join(
            [
                CUSTOMERS.splitlines()[0],
                customer,
                "000002,ZZPII-name-2,wholesaler,active,east,上海,上海,R001,2020-01-01,30,"
                "1000.00,ZZPII-contact-2,13999000002,ZZPII-address-2,ZZPII-legal-2",
            ]
        )
        + "\n",
    )
    unknown = [
        f"SO{n},1,2026-03-03,999999,P00001,1,65.00,0.00,65.00,40.00,R001," for n in range(3, 9)
    ]
    _write(
        landing,
        "sales",
        "20260303",
        "\n".join(
            [
                SALES_HEADER,
                "SO2,1,2026-03-03,000001,P00001,1,65.00,0.00,65.00,40.00,R001,",  # line 2: good
                "SO1,1,2026-03-03,000001,P00001,1,65.00,0.00,65.00,40.00,R001,",  # SO1/1 of day one
                *unknown,  # lines 4-9: customer 999999 was never delivered
                "SO9,1,2026-03-03,000001,P00001,2,65.00,0.00,120.00,80.00,R001,",  # 130 != 120
                "SO10,1,2026-03-03,000001,P00001,1,65.00",  # line 11: cut off
            ]
        )
        + "\n",
    )
    _write(
        landing,
        "payments",
        "20260303",
        "\n".join(
            [
                PAYMENTS_HEADER,
                "RCP1,receipt,000001,2026-03-03,,50.00,bank_transfer,INV1,posted",  # day one's
                "RCP2,receipt,000001,2026-03-03,,50.00,bank_transfer,INV9,posted",  # never sent
            ]
        )
        + "\n",
    )
    refused = [
        _write(landing, "products", "20260303", "product_id,product_name,category\nP1,x,dairy\n"),
        _write(landing, "sales", "20260301", ""),
    ]
    (landing / "sales" / "sales_2026-03-04.csv").write_text(SALES_HEADER + "\n", encoding="utf-8")
    return refused


def _load_day_one(settings: Settings) -> None:
    """Day one loaded into the working database by the real ingestion (a run's first step),
    leaving what it wrote in the write-ahead log as a run's steps do."""
    crm = CrmResource(
        landing_dir=str(settings.landing_dir),
        warehouse_path=str(settings.warehouse_path),
        config_path=str(settings.config_path),
        header_map_path=str(settings.header_map_path),
        expectations_dir=str(settings.expectations_dir),
    )
    settings.work_db.parent.mkdir(parents=True)
    con = duckdb.connect(str(settings.work_db))
    try:
        con.execute("pragma disable_checkpoint_on_shutdown")
        ingest(
            con,
            settings.landing_dir,
            DAY_ONE,
            "day-one",
            ingest_options(crm.config(), Path(crm.header_map_path)),
        )
    finally:
        con.close()


def test_a_clean_folder_passes_and_nothing_is_created(isolated_env: Settings):
    landing = isolated_env.landing_dir
    _land_day_one(landing)

    result = _check("--landing", str(landing))

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"checking {landing} as of {DAY_ONE} with nothing loaded before "
        f"({isolated_env.work_db} does not exist yet)",
        "customers/customers_20260302.csv: 1 row, 1 accepted, 0 quarantined",
        "products/products_20260302.csv: 1 row, 1 accepted, 0 quarantined",
        "sales/sales_20260302.csv: 2 rows, 2 accepted, 0 quarantined",
        "inventory/inventory_20260228.csv: 1 row, 1 accepted, 0 quarantined",
        "payments/payments_20260302.csv: 1 row, 1 accepted, 0 quarantined",
        f"optional extracts not landed (what uses them is skipped): {OPTIONAL}",
        "CLEAN: 5 files would load, 6 rows, none quarantined or refused; nothing was loaded",
    ]
    assert not isolated_env.warehouse_path.parent.exists()  # no working database, no folder


# What the second day's files quarantine, per file: the check's lines, and the rows
# (file, line, column, reason) the run then writes to raw.rejected_rows
PENDING = "references a document not delivered so far (a receipt must reference a posted invoice)"
UNKNOWN = "unknown customer (not in any customers snapshot delivered so far)"
NET = "net_amount differs from quantity x unit_price - discount_amount by more than 0.01"
CUT = "line has fewer fields than the header (cut off?)"
PREDICTED = [
    "customers/customers_20260303.csv: 2 rows, 1 accepted, 1 quarantined",
    f"    customer_type: code not in ({CUSTOMER_TYPES}): 1 row (line 3)",
    "sales/sales_20260303.csv: 10 rows, 1 accepted, 9 quarantined",
    "    order_id,line_no: duplicate key (already delivered in sales/sales_20260302.csv): "
    "1 row (line 3)",
    f"    customer_id: {UNKNOWN}: 6 rows (lines 4, 5, 6, 7, 8, ...)",
    f"    net_amount: {NET}: 1 row (line 10)",
    f"    *: {CUT}: 1 row (line 11)",
    "    discount_amount: missing value: 1 row (line 11)",
    "    net_amount: missing value: 1 row (line 11)",
    "payments/payments_20260303.csv: 2 rows, 1 accepted, 1 quarantined",
    f"    reference_doc_id: {PENDING}: 1 row (line 3)",
    "5 landed files unchanged since the last load, not read again",
    "NOT LOADED sales/sales_2026-03-04.csv: not named sales_YYYYMMDD.csv, so not loaded; "
    "if it is the delivery of that day, rename it sales_20260304.csv",
    f"optional extracts not landed (what uses them is skipped): {OPTIONAL}",
]
QUARANTINED = sorted(
    [
        ("customers/customers_20260303.csv", 3, "customer_type", f"code not in ({CUSTOMER_TYPES})"),
        (
            "sales/sales_20260303.csv",
            3,
            "order_id,line_no",
            "duplicate key (already delivered in sales/sales_20260302.csv)",
        ),
        *[("sales/sales_20260303.csv", n, "customer_id", UNKNOWN) for n in range(4, 10)],
        ("sales/sales_20260303.csv", 10, "net_amount", NET),
        ("sales/sales_20260303.csv", 11, "*", CUT),
        ("sales/sales_20260303.csv", 11, "discount_amount", "missing value"),
        ("sales/sales_20260303.csv", 11, "net_amount", "missing value"),
        ("payments/payments_20260303.csv", 3, "reference_doc_id", PENDING),
    ]
)


@pytest.mark.slow
def test_bad_rows_and_refused_files_are_predicted_and_the_run_quarantines_just_those(
    isolated_env: Settings,
):
    settings = isolated_env
    landing, work_db = settings.landing_dir, settings.work_db
    _land_day_one(landing)
    _load_day_one(settings)
    refused = _land_day_two(landing)
    before = _digests(settings.warehouse_path.parent)
    assert f".work/{work_db.name}.wal" in before  # what the last load wrote is in the log

    result = _check("--as-of", DAY_TWO.isoformat())

    assert result.exit_code == 1, result.output
    header = f"checking {landing} as of {DAY_TWO} against the 5 deliveries loaded into {work_db}"
    assert result.output.splitlines() == [
        header,
        "REFUSED products/products_20260303.csv: required column(s) price_tier, unit, "
        "list_price, unit_cost, launch_date missing from the header (recognised: product_id, "
        "product_name, category; 0 other cell(s), not shown: if the first line is a data row, "
        "the header line is missing); add them, or map the ERP's names to the contract's in "
        "config/header_map.yaml",
        "REFUSED sales/sales_20260301.csv: the file is empty (not even a header line); deliver "
        "it again with the header and its rows",
        "  while a refused file is in the landing folder, `run` refuses the whole run and loads "
        "nothing; the other files are checked as if it had not landed",
        *PREDICTED,
        "NOT CLEAN: 2 files would be refused; 11 rows of 3 files would be quarantined; "
        "nothing was loaded",
    ]
    assert not any(value in result.output for value in PLANTED)
    assert _digests(settings.warehouse_path.parent) == before  # working database and its log
    assert not settings.warehouse_path.exists()

    # without the refused files the other files are checked as before, and the run agrees
    for path in refused:
        path.unlink()
    again = _check("--as-of", DAY_TWO.isoformat())
    assert again.exit_code == 1, again.output
    assert again.output.splitlines() == [
        header,
        *PREDICTED,
        "NOT CLEAN: 11 rows of 3 files would be quarantined; nothing was loaded",
    ]
    assert _digests(settings.warehouse_path.parent) == before

    run = CliRunner().invoke(main, ["run", "--as-of", DAY_TWO.isoformat()])

    assert run.exit_code == 0, run.output
    with duckdb.connect(str(work_db), read_only=True) as con:
        quarantined = con.execute(
            "select file_name, line_number, column_name, reason from raw.rejected_rows order by all"
        ).fetchall()
        manifest = con.execute(
            "select file_name, rows_in_file, accepted_rows, rejected_rows "
            "from raw.delivery_manifest where business_date = ? and is_current order by all",
            [DAY_TWO],
        ).fetchall()
    assert quarantined == QUARANTINED
    assert manifest == [
        ("customers/customers_20260303.csv", 2, 1, 1),
        ("payments/payments_20260303.csv", 2, 1, 1),
        ("sales/sales_20260303.csv", 10, 1, 9),
    ]

    # after the run only the receipt waiting for its invoice would be read again
    after_run = _digests(settings.warehouse_path.parent)
    waiting = _check("--as-of", DAY_TWO.isoformat())
    assert waiting.exit_code == 1, waiting.output
    assert waiting.output.splitlines() == [
        f"checking {landing} as of {DAY_TWO} against the 8 deliveries loaded into {work_db}",
        "payments/payments_20260303.csv: 2 rows, 1 accepted, 1 quarantined (unchanged, read "
        "again: documents in it wait for those they reference)",
        f"    reference_doc_id: {PENDING}: 1 row (line 3)",
        "7 landed files unchanged since the last load, not read again",
        *PREDICTED[-2:],
        "NOT CLEAN: 1 row of 1 file would be quarantined; nothing was loaded",
    ]
    assert _digests(settings.warehouse_path.parent) == after_run


def test_a_working_database_a_run_holds_open_is_named_and_left_alone(isolated_env: Settings):
    settings = isolated_env
    _land_day_one(settings.landing_dir)
    _load_day_one(settings)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('open', flush=True); "
            "sys.stdin.read()",
            str(settings.work_db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "open\n"
        before = _digests(settings.warehouse_path.parent)  # as the holder has made it
        result = _check()
        after = _digests(settings.warehouse_path.parent)
    finally:
        holder.communicate("")

    assert result.exit_code == EXIT_REFUSED, result.output
    assert result.stderr.startswith(
        f"check for {DAY_ONE} REFUSED: the working database {settings.work_db} is open for "
        f"writing by another process (PID {holder.pid}), most likely a run in progress"
    )
    assert result.stdout == ""
    assert after == before


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda landing: None, "does not exist or is not a folder"),
        (lambda landing: landing.mkdir(), "is empty: no extract has landed there"),
        (
            lambda landing: _write(landing, "customers", "20260302", CUSTOMERS),
            "no sales files in",
        ),
    ],
    ids=["missing", "empty", "no sales and no --as-of"],
)
def test_a_landing_folder_that_cannot_be_checked_is_a_usage_error(
    isolated_env: Settings, prepare, message: str
):
    prepare(isolated_env.landing_dir)
    result = _check()
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert message in result.output
    assert not isolated_env.warehouse_path.parent.exists()
