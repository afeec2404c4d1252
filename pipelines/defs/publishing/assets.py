"""The publishing assets: the reporting schema of the warehouse file BI tools read, one
asset per published table and one for the warehouse file itself, materialized together by
one atomic publication."""

from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.defs.credit.keys import (
    CREDIT_COMPANY_VIEW,
    CREDIT_FLAG_CHANGES,
    CREDIT_FLAGS,
    CREDIT_SCORECARD,
    CREDIT_WATCH_LIST,
)
from pipelines.defs.customer_value.keys import (
    CUSTOMER_COMPOSITION,
    CUSTOMER_TIERS,
    TIER_MIGRATIONS,
)
from pipelines.defs.ingestion.assets import DELIVERY_MANIFEST, REJECTED_ROWS
from pipelines.defs.operations.notify import notify
from pipelines.defs.partitions import as_of_date, as_of_partitions, one_date_per_run
from pipelines.defs.prospects.keys import PROSPECT_GRADES
from pipelines.defs.publishing.columns import table_description
from pipelines.defs.publishing.metadata import (
    column_schema,
    markdown_text,
    published_columns,
    published_schemas,
)
from pipelines.defs.publishing.publish import PER_AS_OF_TABLES, PUBLISHED_TABLES, publish
from pipelines.defs.publishing.report import RunFacts, build_report
from pipelines.defs.supply.keys import KEY_ACCOUNT_SUPPLY_RISK, SUPPLY_COVER
from pipelines.defs.transform.assets import dbt_project
from pipelines.defs.transform.keys import CUSTOMER_FACTS, MONTHLY_MARTS, PRODUCT_PERFORMANCE
from pipelines.resources import CrmResource
from pipelines.storage.audit import ensure_audit_table, record_publication
from pipelines.storage.failures import fail_at_once_if_permanent
from pipelines.storage.work_db import checkpoint_work_db

PUBLISHED_WAREHOUSE = dg.AssetKey(["reporting", "warehouse"])
PUBLISHED = {table: dg.AssetKey(["reporting", table]) for table in PUBLISHED_TABLES}
# What each published table is published from: the asset of its working table. The audit
# trail is written by the checks of the run, not by an asset.
PUBLISHED_FROM: dict[str, list[dg.AssetKey]] = {
    "customer_facts": [CUSTOMER_FACTS],
    "customer_tiers": [CUSTOMER_TIERS],
    "credit_flags": [CREDIT_FLAGS],
    "credit_scorecard": [CREDIT_SCORECARD],
    "tier_migrations": [TIER_MIGRATIONS],
    "credit_flag_changes": [CREDIT_FLAG_CHANGES],
    "credit_company_view": [CREDIT_COMPANY_VIEW],
    "credit_watch_list": [CREDIT_WATCH_LIST],
    "customer_composition": [CUSTOMER_COMPOSITION],
    "prospect_grades": [PROSPECT_GRADES],
    "supply_cover": [SUPPLY_COVER],
    "key_account_supply_risk": [KEY_ACCOUNT_SUPPLY_RISK],
    **{key.path[-1]: [key] for key in MONTHLY_MARTS},
    "product_performance": [PRODUCT_PERFORMANCE],
    "data_quality_results": [],
    "rejected_rows": [REJECTED_ROWS],
    "delivery_manifest": [DELIVERY_MANIFEST],
}
# rows in the whole published table, every as-of date (dagster/row_count: the partition's)
ROWS_IN_TABLE = "rows_in_table"


def run_started_at(instance: dg.DagsterInstance, run_id: str) -> datetime | None:
    """When the instance recorded that run `run_id` started (None when it did not)."""
    record = instance.get_run_record_by_id(run_id)
    return datetime.fromtimestamp(record.start_time) if record and record.start_time else None


def _table_spec(table: str) -> dg.AssetSpec:
    how = (
        "Published per as-of date: a run replaces its date's rows (dagster/row_count)."
        if table in PER_AS_OF_TABLES
        else "Rebuilt whole by every run."
    )
    return dg.AssetSpec(
        PUBLISHED[table],
        deps=PUBLISHED_FROM[table],
        description=f"{markdown_text(table_description(table, dbt_project.manifest_path))} {how}",
        group_name="publishing",
        kinds={"duckdb"},
        metadata={
            "dagster/column_schema": column_schema(
                published_columns(table, dbt_project.manifest_path)
            ),
            "dagster/table_name": f"reporting.{table}",
        },
    )


@dg.multi_asset(
    # the step keeps the name it had when the warehouse was the only publishing asset
    name="reporting__warehouse",
    specs=[
        *[_table_spec(table) for table in PUBLISHED_TABLES],
        dg.AssetSpec(
            PUBLISHED_WAREHOUSE,
            deps=list(PUBLISHED.values()),
            description="The warehouse file BI tools read: every reporting table, replaced "
            "together in one atomic step once every blocking check upstream has passed, with "
            "reporting.publication and reporting.publication_history (what is published, by "
            "which run, in which configuration); then the run's auditors' report, "
            "`reports/<as-of>_<run id>/index.html` next to the warehouse. Its `rows_<table>` "
            "count the rows of each table over every as-of date.",
            group_name="publishing",
            kinds={"duckdb"},
        ),
    ],
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    can_subset=False,
)
def published_warehouse(context: dg.AssetExecutionContext, crm: CrmResource):
    """Publish every reporting table (publish.PUBLISHED_TABLES) in one atomic step, write the
    run's auditors' report, and record per table its schema and rows of the as-of date."""
    config = crm.config()
    warehouse = Path(crm.warehouse_path)
    as_of = as_of_date(context)
    with crm.connect() as con:
        ensure_audit_table(con)
    # a full disk or a folder that is not writable fails the publication at once, with
    # the way to recover (the published file is replaced only at the end, atomically)
    with fail_at_once_if_permanent(crm.work_db):
        counts, publication = publish(
            crm.work_db,
            warehouse,
            run_id=context.run.run_id,
            as_of=as_of,
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
            RunFacts(
                context.run.run_id,
                publication["as_of_date"],
                config.version,
                published=True,
                started_at=run_started_at(context.instance, context.run.run_id),
            ),
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
            f"published {as_of}, with {len(warned)} warning check(s) failed",
            run_id=context.run.run_id,
            as_of_date=as_of.isoformat(),
            checks=[w[0] for w in warned],
            report=str(report),
        )
    # what BI tools now read: each table's columns and the rows of this as-of date
    with duckdb.connect(str(warehouse), read_only=True) as con:
        schemas = published_schemas(con, PUBLISHED_TABLES)
        as_of_rows = {
            table: con.execute(
                f"select count(*) from reporting.{table} where as_of_date = ?", [as_of]
            ).fetchone()[0]
            if table in PER_AS_OF_TABLES
            else counts[table]
            for table in PUBLISHED_TABLES
        }
    for table in PUBLISHED_TABLES:
        yield dg.MaterializeResult(
            asset_key=PUBLISHED[table],
            metadata={
                "dagster/column_schema": schemas[table],
                "dagster/row_count": as_of_rows[table],
                "dagster/partition_row_count": as_of_rows[table],
                ROWS_IN_TABLE: counts[table],
            },
        )
    yield dg.MaterializeResult(
        asset_key=PUBLISHED_WAREHOUSE,
        metadata={
            "path": dg.MetadataValue.path(str(warehouse)),
            "report": dg.MetadataValue.path(str(report)),
            "config_version": config.version,
            **{f"rows_{table}": n for table, n in counts.items()},
        },
    )
