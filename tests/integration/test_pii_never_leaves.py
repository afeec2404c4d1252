"""No delivered cell of a PII column ever leaves the raw layer (docs/analyses.md#extract-contract).

Every PII column of every row of the customers and prospects extracts carries a planted,
distinctive value; after each delivery (accepted, with quarantined rows, refused) every
output is searched for them: what the CLI printed and logged, the published warehouse and
its history, every schema of the working database but `raw`, the auditors' reports, the
alert log, the whole Dagster home, and what dbt wrote during the test.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.contract import EXTRACTS
from pipelines.demo.generator import DemoSpec, generate
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings, apply_environment

pytestmark = pytest.mark.slow

AS_OF = date(2026, 3, 31)
NEXT = date(2026, 4, 1)  # the delivery with quarantined rows
REFUSED = date(2026, 4, 2)  # the refused deliveries, each removed again after its run
SPEC = DemoSpec(customers=30, days=90, end_date=AS_OF, seed=21)
PII_EXTRACTS = {"customers": "customer_id", "prospects": "prospect_id"}
MARKER = "ZZPII"  # in every planted value but the phone numbers
DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of a DuckDB database file


@dataclass
class Site:
    root: Path
    settings: Settings
    started: float  # time.time() before the first run: dbt's files newer than it are ours
    planted: set[str] = field(default_factory=set)
    accepted_output: str = ""  # what the first run (the accepted delivery) printed and logged
    last_output: str = ""  # what the newest run printed

    def landing(self, extract: str) -> Path:
        return self.root / "landing" / extract


def _environment(mp: pytest.MonkeyPatch, root: Path) -> None:
    mp.setenv("CRM_LANDING_DIR", str(root / "landing"))
    mp.setenv("CRM_WAREHOUSE_PATH", str(root / "warehouse" / "crm.duckdb"))
    mp.setenv("CRM_CONFIG_PATH", str(PROJECT_ROOT / "config" / "crm.yaml"))
    mp.setenv("CRM_HEADER_MAP_PATH", str(PROJECT_ROOT / "config" / "header_map.yaml"))
    mp.setenv("CRM_EXPECTATIONS_DIR", str(PROJECT_ROOT / "expectations"))
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    mp.setenv("CRM_WORK_DB", "")


def _read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False, encoding="utf8")


def _plant(frame: pl.DataFrame, extract: str, suffix: str = "") -> pl.DataFrame:
    """`frame` (all strings) with every PII cell replaced by a distinctive planted value:
    `ZZPII-<column>-<key><suffix>`, and for the phone a phone-like digit string (13999 and
    the six digits of the customer id; 13998 with a suffix)."""
    key = pl.col(PII_EXTRACTS[extract])
    return frame.with_columns(
        (
            pl.concat_str(pl.lit("13998" if suffix else "13999"), key)
            if column == "phone"
            else pl.concat_str(pl.lit(f"{MARKER}-{column}-"), key, pl.lit(suffix))
        ).alias(column)
        for column in EXTRACTS[extract].pii_columns
    )


def _values(frame: pl.DataFrame, extract: str) -> set[str]:
    return {v for c in EXTRACTS[extract].pii_columns for v in frame[c].drop_nulls().to_list()}


@contextmanager
def _captured_logs() -> Iterator[list[str]]:
    """Every log record emitted while the block runs (any logger, any level), formatted."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _run(site: Site, as_of: date) -> tuple[int, str]:
    """`crm-pipeline run --as-of` through the real CLI: (exit code, what it printed and
    every log line of the run)."""
    with _captured_logs() as records:
        result = CliRunner().invoke(main, ["run", "--as-of", as_of.isoformat()])
    printed = result.output + (repr(result.exception) if result.exception else "")
    site.last_output = printed
    return result.exit_code, printed + "\n" + "\n".join(records)


# -- the search ---------------------------------------------------------------------------


def _pattern(planted: set[str]) -> str:
    phones = sorted(v for v in planted if MARKER not in v)
    return "|".join([MARKER, *phones])


def _found(text: str, planted: set[str]) -> list[str]:
    """The planted values in `text` (the marker itself when only a part of one is)."""
    exact = sorted(v for v in planted if v in text)
    return exact or ([MARKER] if MARKER in text else [])


def _search_duckdb(path: Path, planted: set[str], skip_schema: str | None) -> list[str]:
    """'file schema.table.column: values' of every relation (tables and views) of a DuckDB
    file outside `skip_schema` whose text holds a planted value; every column is read as
    text (lists and structs included)."""
    regex = _pattern(planted)
    findings = []
    with duckdb.connect(str(path), read_only=True) as con:
        relations = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = current_database() "
            "union all select schema_name, view_name from duckdb_views() "
            "where database_name = current_database() and not internal order by all"
        ).fetchall()
        for schema, table in relations:
            if schema == skip_schema:
                continue
            columns = [
                r[0]
                for r in con.execute(
                    "select column_name from duckdb_columns() where database_name = "
                    "current_database() and schema_name = ? and table_name = ?",
                    [schema, table],
                ).fetchall()
            ]
            if not columns:
                continue
            texts = ", ".join(f"coalesce(\"{c}\"::varchar, '')" for c in columns)
            try:
                rows = con.execute(
                    f'select {texts} from "{schema}"."{table}" '
                    f"where regexp_matches(concat_ws(chr(31), {texts}), ?)",
                    [regex],
                ).fetchall()
            except duckdb.Error as exc:  # a view that cannot bind here says so
                findings.append(f"{path} {schema}.{table}: could not be searched ({exc})")
                continue
            for row in rows:
                for column, value in zip(columns, row, strict=True):
                    if hit := _found(value, planted):
                        findings.append(f"{path} {schema}.{table}.{column}: {', '.join(hit)}")
    return findings


def _files(folder: Path, newer_than: float | None = None) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for path in folder.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        if newer_than is not None and path.stat().st_mtime < newer_than:
            continue
        yield path


def assert_no_pii(site: Site, output: str) -> None:
    """Fail with every place (output, file, table and column) that holds a planted value."""
    planted = site.planted
    work_db = site.settings.work_db
    findings = [f"CLI output or log: {', '.join(hit)}" for hit in [_found(output, planted)] if hit]
    skipped = {site.root / "landing", site.root / "landing_truth.csv"}
    outputs = [p for p in _files(site.root) if not any(p == s or s in p.parents for s in skipped)]
    dbt_folders = [DBT_PROJECT_DIR / "logs", DBT_PROJECT_DIR / "target"]
    # files dbt wrote while this module ran (other engineers' builds share the folders)
    outputs += [p for folder in dbt_folders for p in _files(folder, site.started - 1)]
    searched_work_db = False
    for path in outputs:
        if path in (work_db, work_db.with_name(work_db.name + ".wal")):
            if path == work_db:
                findings += _search_duckdb(path, planted, skip_schema="raw")
                searched_work_db = True
            continue  # the working database's raw layer may hold them: its tables are read
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # a dbt folder pruned meanwhile
            continue
        if data[8:12] == DUCKDB_MAGIC:
            findings += _search_duckdb(path, planted, skip_schema=None)
        if re.search(_pattern(planted).encode(), data):
            hit = _found(data.decode("utf-8", errors="replace"), planted)
            findings.append(f"{path} (bytes): {', '.join(hit)}")
    assert searched_work_db or not work_db.exists()
    assert not findings, "PII left the raw layer:\n" + "\n".join(sorted(set(findings))[:60])


# -- the site -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Demo extracts whose every customers and prospects file carries planted PII, published
    once as of AS_OF (the accepted delivery)."""
    root = tmp_path_factory.mktemp("pii")
    generate(root / "landing", SPEC)
    planted: set[str] = set()
    for extract in PII_EXTRACTS:
        for path in sorted((root / "landing" / extract).glob("*.csv")):
            frame = _plant(_read(path), extract)
            frame.write_csv(path, null_value="")
            planted |= _values(frame, extract)
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, root)
        settings = apply_environment()
        site = Site(root, settings, started=time.time(), planted=planted)
        code, output = _run(site, AS_OF)
        assert code == 0, site.last_output
        site.accepted_output = output
        yield site


def _snapshot(site: Site, extract: str) -> pl.DataFrame:
    """The AS_OF snapshot of `extract`, planted PII included."""
    return _read(_delivery(site, extract, AS_OF))


def _delivery(site: Site, extract: str, day: date) -> Path:
    return site.landing(extract) / f"{extract}_{day:%Y%m%d}.csv"


# -- (a) an accepted delivery -------------------------------------------------------------


def test_an_accepted_delivery_keeps_pii_in_the_raw_layer(site: Site):
    # the planted values did land, in raw only
    with duckdb.connect(str(site.settings.work_db), read_only=True) as work:
        names = {r[0] for r in work.execute("select customer_name from raw.customers").fetchall()}
        prospects = {r[0] for r in work.execute("select name from raw.prospects").fetchall()}
    assert names and all(n.startswith(f"{MARKER}-customer_name-") for n in names)
    assert prospects and all(n.startswith(f"{MARKER}-name-") for n in prospects)
    assert site.planted >= names | prospects
    # the search sees them where they are allowed to be
    in_raw = _search_duckdb(site.settings.work_db, site.planted, skip_schema=None)
    assert any(" raw.customers.phone: 13999000001" in f for f in in_raw)
    assert any(" raw.prospects.name: " in f for f in in_raw)
    assert_no_pii(site, site.accepted_output)


# -- (b) a delivery with quarantined rows -------------------------------------------------


def _with_bad_rows(frame: pl.DataFrame, extract: str, bad: dict[int, dict[str, str]]):
    """`frame` with the cells of `bad` ({row: {column: value}}) replaced and the third row
    repeated (a duplicated key) with planted values of its own; (frame, the repeat's
    planted values)."""
    rows = frame.with_row_index("_row")
    for row, cells in bad.items():
        rows = rows.with_columns(
            pl.when(pl.col("_row") == row).then(pl.lit(v)).otherwise(pl.col(c)).alias(c)
            for c, v in cells.items()
        )
    repeat = _plant(frame.slice(2, 1), extract, suffix="-dup")
    return pl.concat([rows.drop("_row"), repeat]), _values(repeat, extract)


def _unquoted_comma(text: str, value: str) -> str:
    """The CSV text with `value` split by a comma nobody quoted (one field too many)."""
    assert text.count(value) == 1
    return text.replace(value, f"{value},{value}-tail")


def test_quarantined_rows_keep_pii_in_the_raw_layer_and_the_run_publishes(site: Site):
    customers, extra = _with_bad_rows(
        _snapshot(site, "customers"),
        "customers",
        {0: {"customer_type": "wholesaler"}, 1: {"region": "mars"}},
    )
    site.planted |= extra
    address = customers["address"][3]
    site.planted.add(f"{address}-tail")
    text = _unquoted_comma(customers.write_csv(null_value=""), address)
    _delivery(site, "customers", NEXT).write_text(text, encoding="utf-8")

    prospects, extra = _with_bad_rows(
        _snapshot(site, "prospects"),
        "prospects",
        {0: {"stage": "signed"}, 1: {"customer_type": "wholesaler"}},
    )
    site.planted |= extra
    name = prospects["name"][3]
    site.planted.add(f"{name}-tail")
    text = _unquoted_comma(prospects.write_csv(null_value=""), name)
    _delivery(site, "prospects", NEXT).write_text(text, encoding="utf-8")

    code, output = _run(site, NEXT)

    assert code == 0, site.last_output
    with duckdb.connect(str(site.settings.warehouse_path), read_only=True) as published:
        rejected = published.execute(
            "select file_name, line_number, column_name from reporting.rejected_rows "
            "where business_date = ? order by all",
            [NEXT],
        ).fetchall()
    customers_file, prospects_file = (f"{e}/{e}_{NEXT:%Y%m%d}.csv" for e in PII_EXTRACTS)
    assert {(f, line) for f, line, _ in rejected} == {
        *((customers_file, line) for line in (2, 3, 5, 32)),
        *((prospects_file, line) for line in (2, 3, 5, 22)),
    }
    assert {(customers_file, 32, "customer_id"), (customers_file, 5, "*")} <= set(rejected)
    assert {(prospects_file, 22, "prospect_id"), (prospects_file, 5, "*")} <= set(rejected)
    assert_no_pii(site, output)


# -- (c) refused deliveries ---------------------------------------------------------------


def _headerless(site: Site, extract: str) -> str:
    return _snapshot(site, extract).write_csv(include_header=False, null_value="")


def _bad_share(site: Site, extract: str) -> str:
    column, code = ("region", "mars") if extract == "customers" else ("stage", "signed")
    return (
        _snapshot(site, extract).with_columns(pl.lit(code).alias(column)).write_csv(null_value="")
    )


# id: (extract, day of the delivered file, its content, what the refusal says)
REFUSALS = {
    # a correction of the AS_OF snapshot without its header: its first row is read as one
    "customers-redelivered-without-header": (
        "customers",
        AS_OF,
        _headerless,
        "customers/customers_20260331.csv: required column(s) customer_id, customer_name,",
    ),
    "prospects-without-header": (
        "prospects",
        REFUSED,
        _headerless,
        "prospects/prospects_20260402.csv: required column(s) prospect_id, name,",
    ),
    "customers-bad-share": (
        "customers",
        REFUSED,
        _bad_share,
        "customers/customers_20260402.csv: 30 of 30 rows (100%) break the contract, more "
        "than the 20% allowed; most common: region: code not in",
    ),
    "prospects-bad-share": (
        "prospects",
        REFUSED,
        _bad_share,
        "prospects/prospects_20260402.csv: 20 of 20 rows (100%) break the contract, more "
        "than the 20% allowed; most common: stage: code not in",
    ),
}


@pytest.mark.parametrize(("extract", "day", "content", "message"), REFUSALS.values(), ids=REFUSALS)
def test_a_refused_delivery_names_no_pii(
    site: Site, extract: str, day: date, content, message: str
):
    path = _delivery(site, extract, day)
    delivered = path.read_bytes() if path.exists() else None
    path.write_text(content(site, extract), encoding="utf-8")
    try:
        code, output = _run(site, REFUSED)
    finally:
        path.write_bytes(delivered) if delivered is not None else path.unlink()
    assert code == 1, site.last_output
    assert message in site.last_output
    assert "nothing was published" in site.last_output
    assert_no_pii(site, output)


def _quote_left_open(text: str, line: int, column: int) -> str:
    """The CSV text with a quote opened before field `column` of line `line` (1-based, the
    header is line 1) and never closed: the rest of the file reads as that one field."""
    lines = text.splitlines(keepends=True)
    fields = lines[line - 1].split(",")
    fields[column] = '"' + fields[column]
    lines[line - 1] = ",".join(fields)
    return "".join(lines)


def test_a_quote_left_open_is_refused_and_names_no_pii(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Each file has a quote opened and never closed: in the customers' address and in the
    prospects' last column. A lenient CSV reader would read the rest of the file as that one
    field, carrying the next rows' names into a published column; the file is refused, and
    the refusal names no cell. Run on a copy of the site, so that whatever it might publish
    cannot reach the other tests."""
    copy = tmp_path / "site"
    shutil.copytree(site.root, copy, symlinks=True)
    _environment(monkeypatch, copy)
    site = Site(copy, apply_environment(), site.started, planted=set(site.planted))
    prospects = _snapshot(site, "prospects").write_csv(null_value="")
    last = len(EXTRACTS["prospects"].columns) - 1  # referred_by_customer_id
    customers = _snapshot(site, "customers").write_csv(null_value="")
    address = EXTRACTS["customers"].column_names.index("address")
    paths = {
        _delivery(site, "prospects", REFUSED): _quote_left_open(prospects, 11, last),
        _delivery(site, "customers", REFUSED): _quote_left_open(customers, 21, address),
    }
    for path, text in paths.items():
        path.write_text(text, encoding="utf-8")
    try:
        code, output = _run(site, REFUSED)
    finally:
        for path in paths:
            path.unlink()
    assert_no_pii(site, output)
    assert code == 1, site.last_output
    assert "cannot be parsed as CSV" in site.last_output
