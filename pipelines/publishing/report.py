"""The auditors' report of one run: a folder of static HTML and pictures (SPEC §5).

`reports/<as-of date>_<run id>/index.html` next to the warehouse, written once per run and
never overwritten: every check of the run with its result and counts (never values), the
reconciliation figures, the files delivered and the rows rejected, the configuration
version, and the pictures an analyst reads faster than tables (Pareto curve of customer
sales, tier distribution, class migrations, AR aging profile). `reports/index.html` lists
every report. Built from the working database, which holds no PII beyond the raw layer
this report never reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape

from pipelines.scoring.credit import AR_BUCKETS

# Rejected rows listed on the page; all of them are in rejected_rows.csv beside it.
MAX_LISTED_REJECTS = 500


@dataclass(frozen=True)
class RunFacts:
    run_id: str
    as_of: date
    config_version: str
    published: bool
    messages: tuple[str, ...] = ()


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


def _charts(con: duckdb.DuckDBPyConnection, as_of: date, folder: Path) -> list[dict]:
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
            for share, label in ((80, "A up to 80%"), (95, "B up to 95%")):
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
                "net sales.",
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
    aging = _frame(
        con,
        "scoring.credit_flags",
        "select " + ", ".join(f"sum({b})::double as {b}" for b in AR_BUCKETS) + " "
        "from scoring.credit_flags where as_of_date = ?",
        [as_of],
    )
    if aging.height and aging.row(0)[0] is not None:
        values = list(aging.row(0))
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
            f"Open AR {sum(values):,.2f} CNY, {overdue:.1f}% of it past due.",
        )
    return charts


_CHECK_COLUMNS = (
    "check_source, table_name, check_name, column_name, severity, passed, "
    "element_count, unexpected_count, observed_value"
)
_DELIVERY_COLUMNS = (
    "extract, file_name, business_date, sha256, rows_in_file, accepted_rows, rejected_rows"
)
_REJECT_COLUMNS = "extract, file_name, line_number, column_name, reason"
_UNLOADED_COLUMNS = "file_name, reason"


def _empty(columns: str) -> pl.DataFrame:
    return pl.DataFrame(schema=dict.fromkeys(columns.split(", "), pl.String))


def _read_run(
    work_db: Path, run: RunFacts, folder: Path
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, list[dict]]:
    """The run's checks, deliveries, rejected rows and landed entries not loaded (misnamed
    files) from the working database, and the pictures drawn into `folder`."""
    with duckdb.connect(str(work_db), read_only=True) as con:
        checks = _frame(
            con,
            "audit.data_quality_results",
            f"select {_CHECK_COLUMNS} from audit.data_quality_results where run_id = ? "
            "order by passed, check_source, table_name, check_name, column_name",
            [run.run_id],
            _CHECK_COLUMNS,
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
        charts = _charts(con, run.as_of, folder)
    return checks, deliveries, rejects, unloaded, charts


def build_report(work_db: Path, warehouse: Path, run: RunFacts) -> Path:
    """Write the report of `run` (refusing to overwrite one) and refresh the report list.

    The report of a failed run whose working database cannot be read (corrupted,
    truncated) lists the run's messages only."""
    folder = report_folder(warehouse, run.as_of, run.run_id)
    folder.mkdir(parents=True, exist_ok=False)
    try:
        checks, deliveries, rejects, unloaded, charts = _read_run(work_db, run, folder)
    except duckdb.Error:
        if run.published:
            raise
        checks, deliveries, rejects, unloaded = (
            _empty(_CHECK_COLUMNS),
            _empty(_DELIVERY_COLUMNS),
            _empty(_REJECT_COLUMNS),
            _empty(_UNLOADED_COLUMNS),
        )
        charts = []
    checks.write_csv(folder / "checks.csv")
    rejects.write_csv(folder / "rejected_rows.csv")
    reconciliation = [
        {**r, **json.loads(r["observed_value"] or "{}")}
        for r in checks.filter(pl.col("check_source") == "reconciliation").iter_rows(named=True)
    ]
    env = Environment(
        loader=PackageLoader("pipelines.publishing", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    summary = (
        checks.group_by("check_source").agg(
            pl.len().alias("checks"), (~pl.col("passed")).sum().alias("failed")
        )
        if checks.height
        else pl.DataFrame({"check_source": [], "checks": [], "failed": []})
    ).sort("check_source")
    (folder / "index.html").write_text(
        env.get_template("report.html.j2").render(
            run=run,
            generated_at=datetime.now(),
            summary=summary.rows(named=True),
            checks=checks.rows(named=True),
            failed=checks.filter(~pl.col("passed")).height if checks.height else 0,
            reconciliation=reconciliation,
            deliveries=deliveries.rows(named=True),
            delivery_totals=deliveries.select(
                pl.len().alias("files"),
                pl.col("rows_in_file", "accepted_rows", "rejected_rows").sum(),
            ).row(0, named=True)
            if deliveries.height
            else None,
            rejects=rejects.head(MAX_LISTED_REJECTS).rows(named=True),
            rejects_total=rejects.height,
            unloaded=unloaded.rows(named=True),
            max_listed=MAX_LISTED_REJECTS,
            charts=charts,
        ),
        encoding="utf-8",
    )
    _write_index(warehouse, env)
    return folder / "index.html"


def _write_index(warehouse: Path, env: Environment) -> None:
    """reports/index.html: every report folder, newest first."""
    folders = sorted(
        (p for p in reports_dir(warehouse).iterdir() if (p / "index.html").exists()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    entries = [
        {
            "name": p.name,
            "as_of": p.name[:10],
            "run_id": p.name[11:],
            "href": f"{p.name}/index.html",
        }
        for p in folders
    ]
    (reports_dir(warehouse) / "index.html").write_text(
        env.get_template("index.html.j2").render(entries=entries), encoding="utf-8"
    )
