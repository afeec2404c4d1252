"""`crm-pipeline`: generate demo extracts, and run the pipeline through Dagster (docs/analyses.md#cli)."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import click

from pipelines.settings import apply_environment

# `run` and `backfill` exit with 1 when a run fails, with 75 (EX_TEMPFAIL: try again later)
# when another run on the same warehouse is in progress and this one was refused.
EXIT_REFUSED = 75


def latest_landed_date(landing: Path) -> date | None:
    """The newest business date among the sales files that have landed."""
    from pipelines.defs.ingestion.landing import landed_dates

    dates = landed_dates(landing, "sales")
    return dates[-1] if dates else None


def _refuse_outside_partitions(as_of: date) -> None:
    """One line, before any work, for an as-of date the daily partitions do not hold."""
    from pipelines.defs.partitions import FIRST_AS_OF_SOURCE, as_of_partitions

    first = as_of_partitions.start.date()
    if as_of < first:
        raise click.ClickException(
            f"the as-of date {as_of} is before {first}, where the business-date partitions "
            f"start ({FIRST_AS_OF_SOURCE}): land the sales history it needs, or set "
            "publishing.first_as_of_date in the configuration"
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
    """Write a realistic, deterministic demo extract set (the nine extracts of docs/analyses.md#extract-contract, credit reviews included), and the truth planted in it: which customers pay steadily, chronically
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
@click.option(
    "--leave-later-dates",
    is_flag=True,
    help="Do not run again the later published as-of dates that rest on a date this "
    "command published (they are listed; by default they are run again, oldest first, so "
    "that what is published does not depend on the order of the runs).",
)
def run(
    as_of,
    landing: Path | None,
    warehouse: Path | None,
    full_refresh: bool,
    leave_later_dates: bool,
) -> None:
    """Ingest every new or changed file dated on or before the as-of date, then compute,
    validate and publish everything for that date; then run again the later published dates
    that rest on it. Exit status 0 only when all were published."""
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
        _recompute_later_dates(settings, leave_later_dates)
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
@click.option(
    "--leave-later-dates",
    is_flag=True,
    help="Do not run again the later published as-of dates that rest on a date this "
    "command published (they are listed; by default they are run again, oldest first, so "
    "that what is published does not depend on the order of the runs).",
)
def backfill(
    start, end, landing: Path | None, warehouse: Path | None, leave_later_dates: bool
) -> None:
    """Run the pipeline for every as-of date from --from to --to, oldest first, one Dagster
    run per date (the UI's partition backfill does the same), then the later published
    dates that rest on them. Stops at the first failure."""
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
    _recompute_later_dates(settings, leave_later_dates)


def _recompute_later_dates(settings, leave: bool) -> None:
    """Run again, oldest first, each later published date that rests on an earlier date
    published after it (operations.later_dates); exits 1 at the first that fails."""
    from pipelines.defs.operations.later_dates import dates_to_recompute
    from pipelines.runner import run_pipeline

    stale = dates_to_recompute(settings.warehouse_path)
    if stale and leave:
        click.echo(
            f"later published dates rest on an earlier state: {', '.join(map(str, stale))}; "
            "their migrations, flag changes, since-dates and limits change when they are run "
            "again (`crm-pipeline run --as-of` each, or without --leave-later-dates)",
            err=True,
        )
        return
    for day in stale:
        outcome = run_pipeline(settings, day)
        if not outcome.success:
            click.echo(
                f"{day}: run again because an earlier date was published after it: "
                f"{'REFUSED' if outcome.refused else 'FAILED'} (run {outcome.run_id}); it "
                "still holds what it was published with",
                err=True,
            )
            for message in outcome.errors:
                click.echo(f"  - {message}", err=True)
            sys.exit(EXIT_REFUSED if outcome.refused else 1)
        click.echo(
            f"{day}: published again (run {outcome.run_id}): an earlier date was published after it"
        )


@main.command()
@click.option(
    "--warehouse",
    type=click.Path(path_type=Path),
    default=None,
    help="Published DuckDB file (default: $CRM_WAREHOUSE_PATH or warehouse/crm.duckdb).",
)
def status(warehouse: Path | None) -> None:
    """What is published: the newest as-of date, the run that published it, its
    configuration version, when, and the summary of the checks of that run; and the last
    run to publish when it is another (a backfill of an older date)."""
    import duckdb

    settings = apply_environment(warehouse=warehouse.resolve() if warehouse else None)
    if not settings.warehouse_path.exists():
        raise click.ClickException(
            f"nothing is published at {settings.warehouse_path}: run `crm-pipeline run` first"
        )
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        cursor = con.execute("select * from reporting.publication")
        publication = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
        run_id, as_of = publication["run_id"], publication["as_of_date"]
        published_at, version = publication["published_at"], publication["config_version"]
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
    click.echo(f"newest as-of    {as_of}, published at {published_at:%Y-%m-%d %H:%M:%S}")
    click.echo(f"run             {run_id}")
    click.echo(f"configuration   {version}")
    last_run_id = publication.get("last_run_id", run_id)  # files of earlier releases: run_id
    if last_run_id != run_id:
        click.echo(
            f"last run        {last_run_id}: as of {publication['last_run_as_of_date']}, "
            f"published at {publication['last_published_at']:%Y-%m-%d %H:%M:%S}"
        )
    click.echo(f"as-of dates     {dates[0]} ({dates[1]} .. {dates[2]})")
    click.echo(f"checks          {checks[0]} run, {checks[1]} failed ({checks[2]} warnings)")


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


@main.command("dbt-vars")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="Business date the dbt build computes.",
)
def dbt_vars_command(as_of) -> None:
    """Print, as JSON, the --vars of a dbt build by hand: the configuration in force
    ($CRM_CONFIG_PATH or config/crm.yaml) and the as-of date, as the pipeline gives them."""
    import json

    from pipelines.config import load_config
    from pipelines.defs.transform.dbt_vars import dbt_vars

    settings = apply_environment()
    try:
        config = load_config(settings.config_path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(dbt_vars(config, as_of.date())))


@main.command()
@click.option(
    "--landing",
    type=click.Path(path_type=Path),
    default=None,
    help="Landing folder to check (default: $CRM_LANDING_DIR or landing/).",
)
@click.option(
    "--warehouse",
    type=click.Path(path_type=Path),
    default=None,
    help="Published DuckDB file whose working database says what was loaded before (default: "
    "$CRM_WAREHOUSE_PATH or warehouse/crm.duckdb). Neither file is changed.",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Check the files dated on or before this business date, those `run --as-of` would "
    "load (default: the latest landed sales date).",
)
def check(landing: Path | None, warehouse: Path | None, as_of) -> None:
    """Check every landed file that is new or changed since the last load against the
    extract contract, as `run` would load it, and load nothing: per file the rows accepted
    and quarantined (counted per column and reason, with their first line numbers), the
    files refused and why, and the entries not named for the contract. The load itself runs
    on a temporary copy of the working database, which is then deleted: the working
    database and the warehouse are left as they were. Exit status 0 when every file would
    load without a quarantined row or a refusal, 1 when something would be quarantined or
    refused, 75 when a run has the working database open (check again after it)."""
    import duckdb

    from pipelines.defs.ingestion.ingest import WorkingDatabaseInUse, check_landing
    from pipelines.defs.ingestion.landing import landing_problem
    from pipelines.defs.ingestion.options import ingest_options
    from pipelines.resources import CrmResource
    from pipelines.settings import duckdb_memory_limit

    settings = apply_environment(
        landing=landing.resolve() if landing else None,
        warehouse=warehouse.resolve() if warehouse else None,
    )
    if problem := landing_problem(settings.landing_dir):
        raise click.ClickException(problem)
    as_of_date = as_of.date() if as_of else latest_landed_date(settings.landing_dir)
    if as_of_date is None:
        raise click.ClickException(
            f"no sales files in {settings.landing_dir}/sales: give the business date to check "
            "with --as-of"
        )
    crm = CrmResource(
        landing_dir=str(settings.landing_dir),
        warehouse_path=str(settings.warehouse_path),
        config_path=str(settings.config_path),
        header_map_path=str(settings.header_map_path),
        expectations_dir=str(settings.expectations_dir),
    )
    try:
        # the very options of the run's ingestion
        options = ingest_options(crm.config(), Path(crm.header_map_path))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        report = check_landing(
            settings.work_db,
            settings.landing_dir,
            as_of_date,
            options,
            connect_config={"memory_limit": duckdb_memory_limit()},
        )
    except WorkingDatabaseInUse as exc:
        click.echo(f"check for {as_of_date} REFUSED: {exc}", err=True)
        sys.exit(EXIT_REFUSED)
    except (duckdb.Error, OSError) as exc:  # the machine: a full temporary disk, a bad file
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise click.ClickException(
            f"the check could not complete ({first}); nothing was loaded, "
            f"{settings.work_db} is unchanged"
        ) from exc

    if report.loaded_before:
        baseline = (
            f"against the {_count(report.loaded_before, 'delivery', 'deliveries')} loaded "
            f"into {settings.work_db}"
        )
    else:
        where = "is empty" if settings.work_db.exists() else "does not exist yet"
        baseline = f"with nothing loaded before ({settings.work_db} {where})"
    click.echo(f"checking {settings.landing_dir} as of {as_of_date} {baseline}")
    ingested = report.ingested
    for _, message in report.refused:
        click.echo(f"REFUSED {message}")
    if report.refused and ingested is not None:
        click.echo(
            "  while a refused file is in the landing folder, `run` refuses the whole run and "
            "loads nothing; the other files are checked as if it had not landed"
        )
    if ingested is not None:
        problems: dict[str, list[dict]] = {}
        for row in report.quarantined.iter_rows(named=True):
            problems.setdefault(row["file_name"], []).append(row)
        for f in ingested.files:
            again = (
                " (unchanged, read again: documents in it wait for those they reference)"
                if f["file_name"] in report.read_again
                else ""
            )
            click.echo(
                f"{f['file_name']}: {_count(f['rows_in_file'], 'row')}, "
                f"{f['accepted_rows']:,} accepted, {f['rejected_rows']:,} quarantined{again}"
            )
            for row in problems.get(f["file_name"], []):
                lines = ", ".join(str(n) for n in row["first_lines"])
                more = ", ..." if row["rows"] > len(row["first_lines"]) else ""
                click.echo(
                    f"    {row['column_name']}: {row['reason']}: {_count(row['rows'], 'row')} "
                    f"(line{'s' if row['rows'] > 1 else ''} {lines}{more})"
                )
        if not ingested.files:
            click.echo("nothing new or changed to check")
        if ingested.skipped_unchanged:
            click.echo(
                f"{_count(ingested.skipped_unchanged, 'landed file')} unchanged since the last "
                "load, not read again"
            )
        for name, why in ingested.unrecognised:
            click.echo(f"NOT LOADED {name}: {why}")
        if ingested.missing_optional:
            click.echo(
                f"optional extracts not landed (what uses them is skipped): "
                f"{', '.join(ingested.missing_optional)}"
            )
    if report.clean:
        rows = sum(f["rows_in_file"] for f in ingested.files)
        click.echo(
            f"CLEAN: {_count(len(ingested.files), 'file')} would load, "
            f"{_count(rows, 'row')}, none quarantined or refused; nothing was loaded"
        )
        return
    parts = []
    if refused_files := sum(name is not None for name, _ in report.refused):
        parts.append(f"{_count(refused_files, 'file')} would be refused")
    if any(name is None for name, _ in report.refused):
        parts.append("the run would be refused")
    if not report.quarantined.is_empty():
        quarantined = [f for f in ingested.files if f["rejected_rows"]]
        parts.append(
            f"{_count(sum(f['rejected_rows'] for f in quarantined), 'row')} of "
            f"{_count(len(quarantined), 'file')} would be quarantined"
        )
    click.echo(f"NOT CLEAN: {'; '.join(parts)}; nothing was loaded")
    sys.exit(1)


if __name__ == "__main__":
    main()
