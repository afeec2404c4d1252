"""Prospect assets: the grade of every prospect in force, per as-of date."""

import dagster as dg

from pipelines.defs.customer_value.keys import CUSTOMER_TIERS
from pipelines.defs.partitions import as_of_date, as_of_partitions, one_date_per_run
from pipelines.defs.prospects.grading import grade_prospects
from pipelines.defs.prospects.keys import PROSPECT_GRADES
from pipelines.defs.publishing.metadata import column_schema, published_columns, table_result
from pipelines.defs.transform.assets import dbt_project
from pipelines.defs.transform.keys import CUSTOMERS_IN_FORCE, PROSPECTS_IN_FORCE
from pipelines.resources import CrmResource
from pipelines.storage.tables import read_as_of, write_as_of

COLUMNS = published_columns("prospect_grades", dbt_project.manifest_path)


@dg.asset(
    key=PROSPECT_GRADES,
    deps=[CUSTOMER_TIERS, PROSPECTS_IN_FORCE, CUSTOMERS_IN_FORCE],
    group_name="prospects",
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    kinds={"polars", "duckdb"},
    metadata={"dagster/column_schema": column_schema(COLUMNS)},
)
def prospect_grades(context: dg.AssetExecutionContext, crm: CrmResource) -> dg.MaterializeResult:
    """Prospect grades A-D by likelihood to close (F10) from the prospect list in force,
    with the points behind each grade. Empty, with a message, when the optional prospects
    extract has not landed."""
    config = crm.config()
    as_of = as_of_date(context)
    with crm.connect() as con:
        prospects = con.execute("select * from intermediate.int_prospects_in_force").pl()
        tiers = read_as_of(con, "scoring.customer_tiers", as_of)
        customers = con.execute(
            "select customer_id, customer_name_key from intermediate.int_customers_in_force"
        ).pl()
        grades = grade_prospects(prospects, tiers, config.prospects, as_of, customers)
        write_as_of(con, "scoring.prospect_grades", grades, as_of)
    if prospects.is_empty():
        context.log.info(f"prospects extract has not landed: no prospect grades for {as_of}")
    return table_result(
        PROSPECT_GRADES,
        grades,
        COLUMNS,
        grades=dg.MetadataValue.json(
            dict(grades.group_by("prospect_grade").len().sort("prospect_grade").iter_rows())
        ),
        config_version=config.version,
    )
