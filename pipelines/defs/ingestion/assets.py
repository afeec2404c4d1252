"""Ingestion assets: landed extract files -> typed raw tables in the working database."""

from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.contract import EXTRACTS
from pipelines.defs.ingestion.ingest import FileRejected, ingest
from pipelines.defs.ingestion.landing import expected_name
from pipelines.defs.ingestion.options import ingest_options
from pipelines.defs.ingestion.pii import PII_KEY_ENV
from pipelines.defs.operations.notify import notify
from pipelines.defs.partitions import as_of_partitions, one_date_per_run
from pipelines.resources import CrmResource

RAW_KEYS = {name: dg.AssetKey(["raw", name]) for name in EXTRACTS}
REJECTED_ROWS = dg.AssetKey(["raw", "rejected_rows"])
DELIVERY_MANIFEST = dg.AssetKey(["raw", "delivery_manifest"])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key,
            group_name="ingestion",
            kinds={"duckdb", "csv"},
            description=(
                f"Typed rows of the `{name}` extract "
                f"({'optional, ' if EXTRACTS[name].optional else ''}{EXTRACTS[name].kind}) "
                "that passed the extract contract; rejected rows go to raw.rejected_rows."
            ),
            skippable=True,
        )
        for name, key in RAW_KEYS.items()
    ]
    + [
        dg.AssetSpec(
            REJECTED_ROWS,
            group_name="ingestion",
            kinds={"duckdb"},
            description="Rows quarantined on arrival: extract, file, line, column, "
            "reason (one row per broken rule).",
        ),
        dg.AssetSpec(
            DELIVERY_MANIFEST,
            group_name="ingestion",
            kinds={"duckdb"},
            description="Every delivered file version: sha256, rows in the file, "
            "accepted, rejected, the run that loaded it.",
        ),
    ],
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    can_subset=False,
)
def raw_extracts(context: dg.AssetExecutionContext, crm: CrmResource):
    """Load every landed file dated on or before the as-of date whose content is new or
    changed (sha256 against the delivery manifest), quarantining bad rows with a reason."""
    as_of = date.fromisoformat(context.partition_key)
    with crm.connect() as con:
        options = ingest_options(crm.config(), Path(crm.header_map_path))
        try:
            report = ingest(con, Path(crm.landing_dir), as_of, context.run.run_id, options)
        except FileRejected as exc:  # the same file fails the same way on a retry
            raise dg.Failure(str(exc), allow_retries=False) from exc
        totals = {
            name: con.execute(f"select count(*) from raw.{name}").fetchone()[0] for name in RAW_KEYS
        }
        if report.files:  # a load can be millions of rows: dbt starts from a checkpointed file
            con.execute("checkpoint")
    if options.pii_key is None:
        context.log.warning(
            f"{PII_KEY_ENV} is not set: the keyed hashes of names and phones (join keys that "
            "stand in for PII) are left empty for the files loaded now"
        )
    context.log.info(
        f"loaded {len(report.files)} new or changed files, {report.skipped_unchanged} unchanged; "
        f"rows now held: {totals}"
    )
    for name in report.missing_optional:
        context.log.info(f"optional extract {name} has not landed: analyses using it are skipped")
    for name, why in report.unrecognised:
        context.log.warning(f"{name}: {why}")
    if report.unrecognised:
        notify(
            "files_not_loaded",
            f"{len(report.unrecognised)} entr(ies) of the extract folders were not loaded "
            f"(not named {expected_name('<extract>')}): "
            f"{', '.join(n for n, _ in report.unrecognised)}",
            run_id=context.run.run_id,
            as_of_date=as_of.isoformat(),
            files=[{"file_name": n, "reason": why} for n, why in report.unrecognised],
        )
    for name, key in RAW_KEYS.items():
        accepted, rejected = report.totals(name)
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "dagster/row_count": totals[name],
                "files_loaded": sum(f["extract"] == name for f in report.files),
                "rows_accepted": accepted,
                "rows_rejected": rejected,
                "extract_landed": name not in report.missing_optional,
            },
        )
    yield dg.MaterializeResult(
        asset_key=REJECTED_ROWS,
        metadata={"rows_rejected_this_run": sum(f["rejected_rows"] for f in report.files)},
    )
    yield dg.MaterializeResult(
        asset_key=DELIVERY_MANIFEST,
        metadata={
            "files_loaded": len(report.files),
            "files_unchanged": report.skipped_unchanged,
            "files_not_loaded": len(report.unrecognised),
        },
    )
