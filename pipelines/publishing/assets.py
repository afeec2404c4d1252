"""The publishing asset: the reporting schema of the warehouse file BI tools read."""

from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.ingestion.assets import DELIVERY_MANIFEST, REJECTED_ROWS
from pipelines.operations.failures import fail_at_once_if_permanent
from pipelines.operations.notify import notify
from pipelines.partitions import as_of_partitions, one_date_per_run
from pipelines.publishing.publish import publish
from pipelines.publishing.report import RunFacts, build_report
from pipelines.quality.results import ensure_audit_table, record_publication
from pipelines.resources import CrmResource, checkpoint_work_db
from pipelines.scoring.assets import (
    CREDIT_FLAGS,
    CREDIT_RATINGS,
    CUSTOMER_TIERS,
    PROSPECT_GRADES,
    SUPPLY_COVER,
)
from pipelines.transform.assets import (
    CUSTOMER_FACTS,
    MONTHLY_MARTS,
    PRODUCT_PERFORMANCE,
    dbt_project,
)

PUBLISHED_WAREHOUSE = dg.AssetKey(["reporting", "warehouse"])


@dg.asset(
    key=PUBLISHED_WAREHOUSE,
    deps=[
        CUSTOMER_TIERS,
        CREDIT_RATINGS,
        CREDIT_FLAGS,
        CUSTOMER_FACTS,
        PRODUCT_PERFORMANCE,
        *MONTHLY_MARTS,
        PROSPECT_GRADES,
        SUPPLY_COVER,
        REJECTED_ROWS,
        DELIVERY_MANIFEST,
    ],
    group_name="publishing",
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    kinds={"duckdb"},
)
def published_warehouse(
    context: dg.AssetExecutionContext, crm: CrmResource
) -> dg.MaterializeResult:
    """Every reporting table (publish.PUBLISHED_TABLES), replaced together in one atomic
    step once every blocking check upstream has passed; then the run's auditors' report
    (reports/<as-of>_<run id>/index.html next to the warehouse)."""
    config = crm.config()
    warehouse = Path(crm.warehouse_path)
    with crm.connect() as con:
        ensure_audit_table(con)
    # a full disk or a folder that is not writable fails the publication at once, with
    # the way to recover (the published file is replaced only at the end, atomically)
    with fail_at_once_if_permanent(crm.work_db):
        counts, publication = publish(
            crm.work_db,
            warehouse,
            run_id=context.run.run_id,
            as_of=date.fromisoformat(context.partition_key),
            config_version=config.version,
            dbt_manifest=dbt_project.manifest_path,
            keep_history=config.publishing.keep_history,
        )
    with crm.connect() as con:
        record_publication(con, publication)
    with fail_at_once_if_permanent(crm.work_db):
        checkpoint_work_db(crm.work_db)
    context.log.info(f"published {warehouse}")
    with fail_at_once_if_permanent(crm.work_db):
        report = build_report(
            crm.work_db,
            warehouse,
            RunFacts(context.run.run_id, publication["as_of_date"], config.version, published=True),
        )
    context.log.info(f"auditors' report: {report}")
    with crm.connect(read_only=True) as con:
        warned = con.execute(
            "select table_name || ': ' || check_name || coalesce('(' || column_name || ')', '') "
            "from audit.data_quality_results where run_id = ? and not passed order by 1",
            [context.run.run_id],
        ).fetchall()
    if warned:  # a failed critical check stops the run: what fails here are warnings
        notify(
            "checks_warned",
            f"published {context.partition_key}, with {len(warned)} warning check(s) failed",
            run_id=context.run.run_id,
            as_of_date=context.partition_key,
            checks=[w[0] for w in warned],
            report=str(report),
        )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(warehouse)),
            "report": dg.MetadataValue.path(str(report)),
            "config_version": config.version,
            **{f"rows_{table}": n for table, n in counts.items()},
        }
    )
