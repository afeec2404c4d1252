"""The auditors' report of one run: a folder of static HTML and pictures (docs/analyses.md#audit).

`reports/<as-of date>_<run id>/index.html` next to the warehouse, written once per run and
never overwritten. At the top, the run's status (published, published with warnings,
failed), as-of date, times and counts, then every check that did not pass, once and in
full (counts, never values). Below: the reconciliation figures, the pictures an analyst
reads faster than tables (Pareto curve of customer sales, tier distribution, class
migrations, AR aging profile), and the deliveries, rejected rows and passed checks
summarised, each full list collapsed on the page and in a CSV beside it. `run.json` beside
it is the run's summary, from which `reports/index.html` lists every report, newest first.
Built from the working database, which holds no PII beyond the raw layer this report never
reads."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from pipelines.config import load_config
from pipelines.defs.credit.rating import AR_BUCKETS
from pipelines.defs.ingestion.landing import NAMING_RULE
from pipelines.settings import environment_path

# Rejected rows listed on the page; all of them are in rejected_rows.csv beside it.
MAX_LISTED_REJECTS = 500
# The summary of each report's run, beside it, read for the list of reports.
RUN_SUMMARY = "run.json"
PUBLISHED = "published"
PUBLISHED_WITH_WARNINGS = "published with warnings"
FAILED = "failed"


@dataclass(frozen=True)
class RunFacts:
    run_id: str
    as_of: date
    config_version: str
    published: bool
    messages: tuple[str, ...] = ()
    # when the run started, as the Dagster instance recorded it (None: not known)
    started_at: datetime | None = None


def reports_dir(warehouse: Path) -> Path:
    return warehouse.parent / "reports"


def report_folder(warehouse: Path, as_of: date, run_id: str) -> Path:
    return reports_dir(warehouse) / f"{as_of:%Y-%m-%d}_{run_id}"


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, table = name.split(".")
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def _frame(
    con: duckdb.DuckDBPyConnection, table: str, sql: str, params: list, columns: str = ""
) -> pl.DataFrame:
    """The query's rows; no rows (with `columns`, comma-separated, as empty text columns) when
    `table` does not exist yet, as after a first run that stopped at ingestion."""
    if _table_exists(con, table):
        return con.execute(sql, params).pl()
    return pl.DataFrame(schema=dict.fromkeys(filter(None, columns.split(", ")), pl.String))


def _abc_bounds() -> list[tuple[float, str]]:
    """The ABC cut-offs of the configuration in force, in % of 12m net sales, with labels
    (none when the configuration cannot be read: the run that reads it says why)."""
    try:
        abc = load_config(environment_path("CRM_CONFIG_PATH")).abc
    except ValueError:
        return []
    return [
        (100 * share, f"{cls} up to {share:.0%}")
        for cls, share in (("A", abc.a_max_cumulative_share), ("B", abc.b_max_cumulative_share))
    ]


def _charts(
    con: duckdb.DuckDBPyConnection, as_of: date, folder: Path, bridge: dict | None
) -> list[dict]:
    """Draw the pictures of the as-of date that exist; returns their captions and files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts: list[dict] = []

    def save(fig, name: str, title: str, caption: str) -> None:
        fig.tight_layout()
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        charts.append({"file": name, "title": title, "caption": caption})

    tiers = _frame(
        con,
        "scoring.customer_tiers",
        "select abc_class, size_tier, monetary_12m::double as sales "
        "from scoring.customer_tiers where as_of_date = ?",
        [as_of],
    )
    if tiers.height:
        sales = tiers.filter(pl.col("sales") > 0).sort("sales", descending=True)["sales"]
        if sales.len():
            cumulative = (sales.cum_sum() / sales.sum() * 100).to_list()
            customers = [100 * (i + 1) / sales.len() for i in range(sales.len())]
            fig, ax = plt.subplots(figsize=(7, 4))
            ax.plot([0, *customers], [0, *cumulative], color="#1f5f8b", linewidth=2)
            for share, label in _abc_bounds():
                ax.axhline(share, color="#b03a2e", linestyle="--", linewidth=1)
                ax.text(101, share, label, va="center", fontsize=8)
            top20 = cumulative[max(0, round(0.2 * sales.len()) - 1)]
            ax.set_xlabel("customers, largest first (% of transacting customers)")
            ax.set_ylabel("cumulative share of 12m net sales (%)")
            ax.set_xlim(0, 115)
            ax.set_ylim(0, 102)
            save(
                fig,
                "pareto.png",
                "Pareto curve of customer sales",
                f"The top 20% of {sales.len()} transacting customers make {top20:.0f}% of 12m "
                "net sales."
                + (
                    f" The other {tiers.height - sales.len()} of the {tiers.height} customers "
                    "tiered had no positive 12m net sales and are not on the curve."
                    if tiers.height > sales.len()
                    else ""
                ),
            )
        counts = (
            tiers.group_by("size_tier", "abc_class").len().pivot("abc_class", index="size_tier")
        )
        order = ["vip", "large", "medium", "small", "non_transacting"]
        counts = counts.with_columns(
            pl.col("size_tier")
            .replace_strict(
                {t: i for i, t in enumerate(order)}, default=len(order), return_dtype=pl.Int32
            )
            .alias("_order")
        ).sort("_order")
        fig, ax = plt.subplots(figsize=(7, 4))
        bottom = [0] * counts.height
        colours = {"A": "#1f5f8b", "B": "#5dade2", "C": "#d5dbdb"}
        for cls in ("A", "B", "C"):
            if cls in counts.columns:
                values = counts[cls].fill_null(0).to_list()
                ax.bar(counts["size_tier"], values, bottom=bottom, label=cls, color=colours[cls])
                bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_ylabel("customers")
        ax.legend(title="ABC class")
        save(
            fig,
            "tiers.png",
            "Tier distribution",
            f"{tiers.height} customers by size tier, coloured by ABC class.",
        )
    migrations = _frame(
        con,
        "scoring.tier_migrations",
        "select dimension, direction, count(*) as customers from scoring.tier_migrations "
        "where as_of_date = ? group by all order by all",
        [as_of],
    )
    if migrations.height:
        table = migrations.pivot("direction", index="dimension", values="customers").fill_null(0)
        directions = [c for c in table.columns if c != "dimension"]
        fig, ax = plt.subplots(figsize=(7, 4))
        left = [0] * table.height
        for direction in directions:
            values = table[direction].to_list()
            ax.barh(table["dimension"], values, left=left, label=direction)
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_xlabel("customers")
        ax.legend()
        save(
            fig,
            "migrations.png",
            "Class migrations since the previous as-of date",
            f"{int(migrations['customers'].sum())} class changes, by dimension and direction.",
        )
    if bridge:
        values = bridge["buckets"]
        labels = ["current", "1-30", "31-60", "61-90", "91-180", ">180"]
        fig, ax = plt.subplots(figsize=(7, 4))
        colours = ["#1e8449", "#f4d03f", "#f5b041", "#dc7633", "#c0392b", "#7b241c"]
        ax.bar(labels, [v / 1e4 for v in values], color=colours)
        ax.set_xlabel("days past due")
        ax.set_ylabel("open amount (10k CNY)")
        overdue = sum(values[1:]) / sum(values) * 100 if sum(values) else 0
        save(
            fig,
            "aging.png",
            "AR aging profile",
            f"Open AR {bridge['open_ar']:,.2f} CNY, {overdue:.1f}% of it past due. "
            + _ar_difference(bridge),
        )
    return charts


def _ar_bridge(con: duckdb.DuckDBPyConnection, as_of: date) -> dict | None:
    """Open AR of the aging buckets, unapplied credit and AR balance of the as-of date, and
    what of their difference the unapplied credit does not explain (0 when it does)."""
    if not _table_exists(con, "scoring.credit_flags"):
        return None
    row = con.execute(
        "select "
        + ", ".join(f"sum({b})::double" for b in AR_BUCKETS)
        + ", sum(unapplied_credit)::double, sum(ar_balance)::double "
        "from scoring.credit_flags where as_of_date = ?",
        [as_of],
    ).fetchone()
    if row is None or row[0] is None:
        return None
    buckets = [v or 0.0 for v in row[: len(AR_BUCKETS)]]
    unapplied, balance = row[-2] or 0.0, row[-1] or 0.0
    open_ar = sum(buckets)
    return {
        "buckets": buckets,
        "open_ar": open_ar,
        "unapplied": unapplied,
        "balance": balance,
        "unexplained": round(open_ar - unapplied - balance, 2),
    }


def _ar_difference(bridge: dict) -> str:
    """In words: why the open AR of the aging picture differs from the AR balance."""
    gap = bridge["open_ar"] - bridge["balance"]
    if abs(gap) < 0.005:
        return f"It equals the AR balance of {bridge['balance']:,.2f} CNY (no unapplied credit)."
    text = (
        f"That is {abs(gap):,.2f} CNY {'more' if gap > 0 else 'less'} than the AR balance of "
        f"{bridge['balance']:,.2f} CNY reconciled above: the balance nets off "
        f"{bridge['unapplied']:,.2f} CNY of unapplied credit (receipts and credit notes not "
        "applied to an invoice), which ages in no bucket."
    )
    if abs(bridge["unexplained"]) >= 0.005:
        text += (
            f" {bridge['unexplained']:,.2f} CNY of the difference is not unapplied credit: "
            "see the check buckets_minus_unapplied_total."
        )
    return text


_CHECK_COLUMNS = (
    "check_source, table_name, check_name, column_name, severity, passed, "
    "element_count, unexpected_count, observed_value"
)
_DELIVERY_COLUMNS = (
    "extract, file_name, business_date, sha256, rows_in_file, accepted_rows, rejected_rows"
)
_REJECT_COLUMNS = "extract, file_name, line_number, column_name, reason"
_UNLOADED_COLUMNS = "file_name, reason"
# messages of the orchestrator that restate failed checks the report lists in full
_CHECK_MESSAGE = re.compile(r"^check (\S+) on (\S+) failed: ")
_CHECK_STEP_FAILED = "DagsterAssetCheckFailedError"


def _empty(columns: str) -> pl.DataFrame:
    return pl.DataFrame(schema=dict.fromkeys(columns.split(", "), pl.String))


@dataclass(frozen=True)
class _Run:
    """What the working database holds of one run."""

    # with `parameters`: each expectation's arguments (from the suites, never data)
    checks: pl.DataFrame
    deliveries: pl.DataFrame
    rejects: pl.DataFrame
    unloaded: pl.DataFrame
    bridge: dict | None
    charts: list[dict]


def _read_run(work_db: Path, run: RunFacts, folder: Path) -> _Run:
    """The run's checks, deliveries, rejected rows and landed entries not loaded (misnamed
    files) from the working database, and the pictures drawn into `folder`."""
    with duckdb.connect(str(work_db), read_only=True) as con:
        checks = _frame(
            con,
            "audit.data_quality_results",
            f"select {_CHECK_COLUMNS}, parameters from audit.data_quality_results "
            "where run_id = ? order by passed, check_source, table_name, check_name, column_name",
            [run.run_id],
            f"{_CHECK_COLUMNS}, parameters",
        )
        deliveries = _frame(
            con,
            "raw.delivery_manifest",
            "select extract, file_name, business_date, left(file_sha256, 12) as sha256, "
            "rows_in_file, accepted_rows, rejected_rows from raw.delivery_manifest "
            "where run_id = ? order by extract, business_date, file_name",
            [run.run_id],
            _DELIVERY_COLUMNS,
        )
        rejects = _frame(
            con,
            "raw.rejected_rows",
            f"select {_REJECT_COLUMNS} from raw.rejected_rows where run_id = ? "
            "order by file_name, line_number, column_name",
            [run.run_id],
            _REJECT_COLUMNS,
        )
        unloaded = _frame(
            con,
            "raw.unrecognised_files",
            f"select {_UNLOADED_COLUMNS} from raw.unrecognised_files where run_id = ? "
            "order by file_name",
            [run.run_id],
            _UNLOADED_COLUMNS,
        )
        bridge = _ar_bridge(con, run.as_of)
        charts = _charts(con, run.as_of, folder, bridge)
    return _Run(checks, deliveries, rejects, unloaded, bridge, charts)


def _unreadable_run() -> _Run:
    """What the report of a run shows whose working database cannot be read."""
    return _Run(
        _empty(f"{_CHECK_COLUMNS}, parameters"),
        _empty(_DELIVERY_COLUMNS),
        _empty(_REJECT_COLUMNS),
        _empty(_UNLOADED_COLUMNS),
        None,
        [],
    )


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _failures(data: _Run) -> list[dict]:
    """Every check of the run that did not pass, once: blocking ones first, each with what
    it requires (the suite's arguments) or, for a reconciliation, the two figures."""
    if not data.checks.height:
        return []
    failed = (
        data.checks.filter(~pl.col("passed"))
        .with_columns(is_warning=pl.col("severity") == "warning")
        .sort("is_warning", "check_source", "table_name", "check_name", "column_name")
    )
    rows = []
    for r in failed.iter_rows(named=True):
        detail = ""
        if r["check_source"] == "reconciliation" and r["observed_value"]:
            figures = json.loads(r["observed_value"])
            gap = figures.get("published", 0) - figures.get("extracts", 0)
            detail = (
                f"published {figures.get('published', 0):,.2f}, from the extracts "
                f"{figures.get('extracts', 0):,.2f}: they differ by {abs(gap):,.2f}"
            )
        elif r["parameters"]:
            arguments = {k: v for k, v in json.loads(r["parameters"]).items() if k != "column"}
            detail = "; ".join(f"{k} = {json.dumps(v)}" for k, v in arguments.items())
        rows.append({**r, "detail": detail})
    return rows


def _covered(message: str, failures: list[dict]) -> bool:
    """Whether `message` only restates failed checks the report lists in full: the
    orchestrator's summary of a failed check, or of a blocking check stopping its step."""
    if _CHECK_STEP_FAILED in message:
        return any(not f["is_warning"] for f in failures)
    match = _CHECK_MESSAGE.match(message)
    if not match:
        return False
    name, asset = match.groups()
    if name.startswith("gx_raw_"):
        tables = {f"raw.{name.removeprefix('gx_raw_')}"}
    elif name.startswith("gx_"):
        tables = {name.removeprefix("gx_")}
    else:  # a reconciliation, recorded under the asset's table
        tables = {asset.rsplit("/", 1)[-1]}
    return any(f["table_name"] in tables for f in failures)


def _status(published: bool, warned: int) -> str:
    if not published:
        return FAILED
    return PUBLISHED_WITH_WARNINGS if warned else PUBLISHED


def _summary(run: RunFacts, data: _Run, started: datetime | None, written: datetime) -> dict:
    """The figures at the top of the report, also written to run.json for the report list."""
    checks = data.checks
    not_passed = checks.filter(~pl.col("passed")) if checks.height else checks
    warned = not_passed.filter(pl.col("severity") == "warning").height
    deliveries = data.deliveries
    rows = (
        deliveries.select(pl.col("rows_in_file", "accepted_rows", "rejected_rows").sum()).row(0)
        if deliveries.height
        else (0, 0, 0)
    )
    return {
        "run_id": run.run_id,
        "as_of": run.as_of.isoformat(),
        "status": _status(run.published, warned),
        "published": run.published,
        "config_version": run.config_version,
        "started_at": started.isoformat(timespec="seconds") if started else None,
        "report_written_at": written.isoformat(timespec="seconds"),
        "run_seconds": round((written - started).total_seconds()) if started else None,
        "files_loaded": deliveries.height,
        "rows_in_files": int(rows[0] or 0),
        "rows_loaded": int(rows[1] or 0),
        "rows_quarantined": int(rows[2] or 0),
        "checks_run": checks.height,
        "checks_failed": not_passed.height - warned,
        "checks_warned": warned,
    }


def _per_extract(deliveries: pl.DataFrame) -> list[dict]:
    """Deliveries per extract: files, business dates, rows, loaded and quarantined."""
    if not deliveries.height:
        return []
    return (
        deliveries.group_by("extract")
        .agg(
            pl.len().alias("files"),
            pl.col("business_date").min().alias("first_date"),
            pl.col("business_date").max().alias("last_date"),
            pl.col("rows_in_file", "accepted_rows", "rejected_rows").sum(),
        )
        .sort("extract")
        .rows(named=True)
    )


def _reject_reasons(rejects: pl.DataFrame) -> list[dict]:
    """Rejected rows per extract, column and reason."""
    if not rejects.height:
        return []
    return (
        rejects.group_by("extract", "column_name", "reason")
        .agg(pl.struct("file_name", "line_number").n_unique().alias("rows"))
        .sort("extract", "rows", "column_name", "reason", descending=[False, True, False, False])
        .rows(named=True)
    )


def _rejected_lines(rejects: pl.DataFrame) -> int:
    """Rows rejected: the distinct lines of the problems."""
    if not rejects.height:
        return 0
    return rejects.select(pl.struct("file_name", "line_number").n_unique()).item()


def _reject_note(data: _Run, quarantined: int) -> str:
    """Why the rows rejected differ from the rows the deliveries count quarantined, if they
    do: rows of files this run did not load, and whatever else remains."""
    rejected = _rejected_lines(data.rejects)
    if rejected == quarantined:
        return ""
    loaded = data.deliveries["file_name"].to_list() if data.deliveries.height else []
    elsewhere = _rejected_lines(data.rejects.filter(~pl.col("file_name").is_in(loaded)))
    parts = [f"the deliveries above count {quarantined:,} rows quarantined"]
    if elsewhere:
        verb = "is" if elsewhere == 1 else "are"
        parts.append(f"{elsewhere:,} of the rows rejected {verb} in files this run did not load")
    rest = rejected - elsewhere - quarantined
    if rest:
        parts.append(f"{abs(rest):,} rows of the difference the working database does not explain")
    return ": ".join(parts[:2]) + "".join(f"; {p}" for p in parts[2:])


def _check_sources(checks: pl.DataFrame) -> list[dict]:
    if not checks.height:
        return []
    warning = pl.col("severity") == "warning"
    return (
        checks.group_by("check_source")
        .agg(
            pl.len().alias("checks"),
            pl.col("passed").sum().alias("passed"),
            (~pl.col("passed") & ~warning).sum().alias("failed"),
            (~pl.col("passed") & warning).sum().alias("warned"),
        )
        .sort("check_source")
        .rows(named=True)
    )


def _reconciliation(checks: pl.DataFrame) -> list[dict]:
    """The reconciliation figures, each with the difference of its two sides."""
    rows = []
    for r in checks.filter(pl.col("check_source") == "reconciliation").iter_rows(named=True):
        figures = json.loads(r["observed_value"] or "{}")
        published, extracts = figures.get("published"), figures.get("extracts")
        gap = None if published is None or extracts is None else round(published - extracts, 2)
        rows.append(
            {
                **r,
                "published": published,
                "extracts": extracts,
                "gap": gap,
                "is_count": r["check_name"].startswith("customers"),
            }
        )
    return sorted(rows, key=lambda r: (r["table_name"], r["check_name"]))


def _html(value: object) -> str:
    """A value as HTML text: & < > and " escaped (every attribute of the templates is
    double-quoted), markup as it is."""
    if isinstance(value, Markup):
        return value
    text = str(value)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        text = text.replace(char, entity)
    return text


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pipelines.defs.publishing", "templates"), finalize=_html
    )
    # long identifiers (check, table and file names) may wrap after _ . / instead of overflowing
    env.filters["breakable"] = lambda text: Markup(
        re.sub(r"([_./])", r"\1<wbr>", _html(text or ""))
    )
    env.globals["naming_rule"] = NAMING_RULE
    env.filters["num"] = lambda n: "" if n is None else f"{int(n):,}"
    env.filters["amount"] = lambda v: "" if v is None else f"{v:,.2f}"
    env.filters["figure"] = lambda v, is_count: env.filters["num" if is_count else "amount"](v)
    return env


def build_report(work_db: Path, warehouse: Path, run: RunFacts) -> Path:
    """Write the report of `run` (refusing to overwrite one) and refresh the report list.

    The report of a failed run whose working database cannot be read (corrupted,
    truncated) lists the run's messages only."""
    folder = report_folder(warehouse, run.as_of, run.run_id)
    folder.mkdir(parents=True, exist_ok=False)
    try:
        data = _read_run(work_db, run, folder)
    except duckdb.Error:
        if run.published:
            raise
        data = _unreadable_run()
    data.checks.drop("parameters").write_csv(folder / "checks.csv")
    data.rejects.write_csv(folder / "rejected_rows.csv")
    data.deliveries.write_csv(folder / "deliveries.csv")
    # to the second, as shown: the run time is the difference of the two times on the page
    written = datetime.now().replace(microsecond=0)
    started = run.started_at
    started = started.replace(microsecond=0) if started else None
    summary = _summary(run, data, started, written)
    failures = _failures(data)
    env = _environment()
    (folder / "index.html").write_text(
        env.get_template("report.html.j2").render(
            run=run,
            summary=summary,
            started=started,
            written=written,
            run_time=_duration(summary["run_seconds"]) if started else None,
            failures=failures,
            messages=[m for m in run.messages if not _covered(m, failures)],
            restated=sum(_covered(m, failures) for m in run.messages),
            sources=_check_sources(data.checks),
            passed_checks=data.checks.filter(pl.col("passed")).rows(named=True)
            if data.checks.height
            else [],
            reconciliation=_reconciliation(data.checks),
            bridge=data.bridge,
            charts=data.charts,
            per_extract=_per_extract(data.deliveries),
            deliveries=data.deliveries.rows(named=True),
            unloaded=data.unloaded.rows(named=True),
            reasons=_reject_reasons(data.rejects),
            rejects=data.rejects.head(MAX_LISTED_REJECTS).rows(named=True),
            rejects_total=data.rejects.height,
            rejected_lines=_rejected_lines(data.rejects),
            reject_note=_reject_note(data, summary["rows_quarantined"]),
            max_listed=MAX_LISTED_REJECTS,
        ),
        encoding="utf-8",
    )
    (folder / RUN_SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    _write_index(warehouse, env)
    return folder / "index.html"


def _legacy_entry(folder: Path) -> dict:
    """A report written before run.json existed: its status as its page states it."""
    page = (folder / "index.html").read_text(encoding="utf-8", errors="replace")
    if 'class="status published"' in page:
        status = PUBLISHED
    elif 'class="status blocked"' in page:
        status = FAILED
    else:
        status = None
    written = datetime.fromtimestamp((folder / "index.html").stat().st_mtime)
    return {
        "run_id": folder.name[11:],
        "as_of": folder.name[:10],
        "status": status,
        "published": None if status is None else status != FAILED,
        "started_at": None,
        "report_written_at": written.isoformat(timespec="seconds"),
        "run_seconds": None,
        **dict.fromkeys(("checks_run", "checks_failed", "checks_warned", "rows_quarantined")),
    }


def _write_index(warehouse: Path, env: Environment) -> None:
    """reports/index.html: every report, newest first, with its run's status and times
    (from the run.json beside each report)."""
    entries = []
    for folder in reports_dir(warehouse).iterdir():
        if not (folder / "index.html").exists():
            continue
        try:
            entry = json.loads((folder / RUN_SUMMARY).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entry = _legacy_entry(folder)
        entries.append(
            {
                **entry,
                "href": f"{folder.name}/index.html",
                "written": (folder / "index.html").stat().st_mtime_ns,
                "run_time": None
                if entry.get("run_seconds") is None
                else _duration(entry["run_seconds"]),
            }
        )
    entries.sort(key=lambda e: e["written"], reverse=True)
    (reports_dir(warehouse) / "index.html").write_text(
        env.get_template("index.html.j2").render(entries=entries), encoding="utf-8"
    )
