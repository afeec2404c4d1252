"""`crm-pipeline`: generate demo extracts, and run the pipeline through Dagster (SPEC §6)."""

from __future__ import annotations

import re
import sys
from datetime import date, timedelta
from pathlib import Path

import click

from pipelines.settings import apply_environment

_FILE_DATE = re.compile(r"^sales_(\d{8})\.csv$", re.IGNORECASE)  # contract.Extract.file_pattern
# `run` and `backfill` exit with 1 when a run fails, with 75 (EX_TEMPFAIL: try again later)
# when another run on the same warehouse is in progress and this one was refused.
EXIT_REFUSED = 75


def latest_landed_date(landing: Path) -> date | None:
    """The newest business date among the sales files that have landed."""
    dates = [
        m.group(1)
        for p in (landing / "sales").glob("sales_*.csv")
        if (m := _FILE_DATE.match(p.name)) and p.is_file()
    ]
    return date(int(max(dates)[:4]), int(max(dates)[4:6]), int(max(dates)[6:])) if dates else None


def _refuse_outside_partitions(as_of: date) -> None:
    """One line, before any work, for an as-of date the daily partitions do not hold."""
    from pipelines.partitions import as_of_partitions

    first = as_of_partitions.start.date()
    if as_of < first:
        raise click.ClickException(
            f"the as-of date {as_of} is before {first}, where the business-date partitions "
            "start (pipelines/partitions.py)"
        )
    if as_of > date.today():
        raise click.ClickException(
            f"the as-of date {as_of} is in the future: the newest as-of date is today, "
            f"{date.today()}"
        )


@click.group()
@click.version_option(package_name="crm-pipeline", message="%(prog)s %(version)s")
def main() -> None:
    """Customer analytics for food and FMCG manufacturers: ERP extracts in, customer tiers and
    credit flags out, validated and published to a DuckDB warehouse."""


@main.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("landing"),
    show_default=True,
    help="Landing folder to write the extracts into.",
)
@click.option(
    "--customers",
    type=click.IntRange(min=5),
    default=3000,
    show_default=True,
    help="Number of customers (prospects, complaints and reviews scale with it).",
)
@click.option(
    "--days",
    type=click.IntRange(min=30),
    default=730,
    show_default=True,
    help="Days of history ending on --end-date.",
)
@click.option(
    "--end-date",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last business date (default: yesterday).",
)
@click.option(
    "--seed",
    type=int,
    default=42,
    show_default=True,
    help="Random seed: the same seed and options write the same files.",
)
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "gb18030"]),
    default="utf-8",
    show_default=True,
    help="gb18030 writes files the way Chinese ERPs export them.",
)
@click.option(
    "--truth",
    "truth_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the planted truth, outside the landing folder (default: beside it, "
    "OUT_truth.csv).",
)
def generate(
    out: Path,
    customers: int,
    days: int,
    end_date,
    seed: int,
    encoding: str,
    truth_path: Path | None,
) -> None:
    """Write a realistic, deterministic demo extract set (the eight extracts of SPEC §2 and
    credit reviews), and the truth planted in it: which customers pay steadily, chronically
    late, worse and worse or not at all, bounced a bill, churned, grew, or ran out of a
    product (never ingested, never published)."""
    import polars as pl

    from pipelines.demo.generator import TRUTH_KINDS, DemoSpec, truth_path_for
    from pipelines.demo.generator import generate as write_demo

    end = end_date.date() if end_date else date.today() - timedelta(days=1)
    spec = DemoSpec(customers=customers, days=days, end_date=end, seed=seed, encoding=encoding)
    truth = truth_path or truth_path_for(out)
    try:
        counts = write_demo(out, spec, truth)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote demo extracts for {spec.start_date} .. {spec.end_date} to {out}")
    for extract, n in counts.items():
        click.echo(f"  {extract:<14} {n:>10,} rows")
    kinds = dict(pl.read_csv(truth, columns=["kind"])["kind"].value_counts().iter_rows())
    click.echo(f"wrote the planted truth (as of {spec.end_date}, never ingested) to {truth}")
    for kind in TRUTH_KINDS:
        click.echo(f"  {kind:<19} {kinds.get(kind, 0):>7,} rows")


@main.command()
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Business date to compute and publish (default: the latest landed sales date).",
)
@click.option(
    "--landing",
    type=click.Path(path_type=Path),
    default=None,
    help="Landing folder (default: $CRM_LANDING_DIR or landing/).",
)
@click.option(
    "--warehouse",
    type=click.Path(path_type=Path),
    default=None,
    help="Published DuckDB file (default: $CRM_WAREHOUSE_PATH or warehouse/crm.duckdb).",
)
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Rebuild the compact sales facts from every order line instead of only the days "
    "loaded since the last run, and settle every customer's AR ledger again (earlier as-of "
    "dates are kept).",
)
def run(as_of, landing: Path | None, warehouse: Path | None, full_refresh: bool) -> None:
    """Ingest every new or changed file dated on or before the as-of date, then compute,
    validate and publish everything for that date. Exit status 0 only when published."""
    settings = apply_environment(
        landing=landing.resolve() if landing else None,
        warehouse=warehouse.resolve() if warehouse else None,
    )
    if as_of is None:
        latest = latest_landed_date(settings.landing_dir)
        if latest is None:
            raise click.ClickException(
                f"no sales files in {settings.landing_dir}/sales; land extracts there or run "
                "`crm-pipeline generate` first"
            )
        as_of_date = latest
    else:
        as_of_date = as_of.date()
    _refuse_outside_partitions(as_of_date)
    from pipelines.runner import run_pipeline

    outcome = run_pipeline(settings, as_of_date, full_refresh=full_refresh)
    if outcome.refused:
        click.echo(f"run for {as_of_date} REFUSED: {outcome.errors[0]}", err=True)
        sys.exit(EXIT_REFUSED)
    if outcome.success:
        click.echo(f"published {as_of_date} to {settings.warehouse_path}")
        for table, n in outcome.published_rows.items():
            click.echo(f"  reporting.{table:<30} {n:>10,} rows")
        click.echo(f"Auditors' report: {outcome.report}")
        click.echo(
            f"Dagster run {outcome.run_id} is recorded in {settings.dagster_home} "
            "(`make ui` shows it)"
        )
        return
    if outcome.published_anyway:
        click.echo(
            f"run for {as_of_date} FAILED after it published to {settings.warehouse_path}: "
            "the published tables are validated, a closing step (the working database's "
            "checkpoint, the auditors' report) did not complete.",
            err=True,
        )
    else:
        click.echo(
            f"run for {as_of_date} FAILED; nothing was published, "
            f"{settings.warehouse_path} is unchanged.",
            err=True,
        )
    for message in outcome.errors:
        click.echo(f"  - {message}", err=True)
    if outcome.report:
        click.echo(f"Auditors' report of what was checked: {outcome.report}", err=True)
    click.echo(f"Dagster run {outcome.run_id} (see `make ui`) has the full log.", err=True)
    sys.exit(1)


@main.command()
@click.option(
    "--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First as-of date."
)
@click.option(
    "--to",
    "end",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="Last as-of date (inclusive).",
)
@click.option(
    "--landing",
    type=click.Path(path_type=Path),
    default=None,
    help="Landing folder (default: $CRM_LANDING_DIR or landing/).",
)
@click.option(
    "--warehouse",
    type=click.Path(path_type=Path),
    default=None,
    help="Published DuckDB file (default: $CRM_WAREHOUSE_PATH or warehouse/crm.duckdb).",
)
def backfill(start, end, landing: Path | None, warehouse: Path | None) -> None:
    """Run the pipeline for every as-of date from --from to --to, oldest first, one Dagster
    run per date (the UI's partition backfill does the same). Stops at the first failure."""
    settings = apply_environment(
        landing=landing.resolve() if landing else None,
        warehouse=warehouse.resolve() if warehouse else None,
    )
    first, last = start.date(), end.date()
    if first > last:
        raise click.BadParameter("--from must not be after --to")
    _refuse_outside_partitions(first)
    _refuse_outside_partitions(last)
    from pipelines.runner import run_pipeline

    day = first
    while day <= last:
        outcome = run_pipeline(settings, day)
        if outcome.refused:
            click.echo(f"{day}: REFUSED: {outcome.errors[0]}; stopping the backfill", err=True)
            sys.exit(EXIT_REFUSED)
        if not outcome.success:
            click.echo(f"{day}: FAILED (run {outcome.run_id}); stopping the backfill", err=True)
            for message in outcome.errors:
                click.echo(f"  - {message}", err=True)
            sys.exit(1)
        click.echo(f"{day}: published (run {outcome.run_id})")
        day += timedelta(days=1)
    click.echo(f"backfilled {first} .. {last} into {settings.warehouse_path}")


@main.command()
@click.option(
    "--warehouse",
    type=click.Path(path_type=Path),
    default=None,
    help="Published DuckDB file (default: $CRM_WAREHOUSE_PATH or warehouse/crm.duckdb).",
)
def status(warehouse: Path | None) -> None:
    """What is published: the as-of date of the newest publication, its run, its
    configuration version, when, and the summary of the checks of that run."""
    import duckdb

    settings = apply_environment(warehouse=warehouse.resolve() if warehouse else None)
    if not settings.warehouse_path.exists():
        raise click.ClickException(
            f"nothing is published at {settings.warehouse_path}: run `crm-pipeline run` first"
        )
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        run_id, as_of, published_at, version = con.execute(
            "select run_id, as_of_date, published_at, config_version from reporting.publication"
        ).fetchone()
        dates = con.execute(
            "select count(distinct as_of_date), min(as_of_date), max(as_of_date) "
            "from reporting.customer_facts"
        ).fetchone()
        checks = con.execute(
            "select count(*), count(*) filter (not passed), "
            "count(*) filter (not passed and severity <> 'critical') "
            "from reporting.data_quality_results where run_id = ?",
            [run_id],
        ).fetchone()
    click.echo(f"warehouse       {settings.warehouse_path}")
    click.echo(f"last published  as of {as_of}, at {published_at:%Y-%m-%d %H:%M:%S}")
    click.echo(f"run             {run_id}")
    click.echo(f"configuration   {version}")
    click.echo(f"as-of dates     {dates[0]} ({dates[1]} .. {dates[2]})")
    click.echo(f"checks          {checks[0]} run, {checks[1]} failed ({checks[2]} warnings)")


if __name__ == "__main__":
    main()
