"""Customer-value assets: the customer tiers of each as-of date, computed in Polars from the
dbt marts and the classes by cumulative share dbt computes, with the tier migrations since
the previous date and the customer composition."""

import dagster as dg
import polars as pl

from pipelines.defs.credit.keys import CREDIT_RATINGS
from pipelines.defs.customer_value.composition import customer_composition
from pipelines.defs.customer_value.customer_tiers import score_customers
from pipelines.defs.customer_value.keys import (
    CUSTOMER_COMPOSITION,
    CUSTOMER_TIERS,
    TIER_MIGRATIONS,
)
from pipelines.defs.customer_value.tier_migrations import tier_migrations
from pipelines.defs.partitions import as_of_date, as_of_partitions, one_date_per_run
from pipelines.defs.publishing.metadata import published_columns, table_result, table_spec
from pipelines.defs.transform.assets import dbt_project
from pipelines.defs.transform.keys import CUSTOMER_AR, CUSTOMER_FACTS, CUSTOMER_PARETO_CLASSES
from pipelines.resources import CrmResource
from pipelines.storage.tables import previous_as_of, read_as_of, write_as_of

COLUMNS_OF = {
    table: published_columns(table, dbt_project.manifest_path)
    for table in ("customer_tiers", "tier_migrations", "customer_composition")
}


def _spec(key: dg.AssetKey, description: str, deps: list[dg.AssetKey]) -> dg.AssetSpec:
    return table_spec(key, description, deps, "customer_value", COLUMNS_OF[key.path[-1]])


@dg.multi_asset(
    name="scoring__customer_tiers",
    specs=[
        _spec(
            CUSTOMER_TIERS,
            "Customer tiers per as-of date: ABC (F4), size tier (F5), revenue and profit "
            "grades (F6), RFM (F7), CLV (F8), value class (F9), dimension classes (F11), "
            "development class (F12) and the recommended treatment, with the configuration "
            "version that produced them.",
            [CUSTOMER_FACTS, CUSTOMER_PARETO_CLASSES, CUSTOMER_AR, CREDIT_RATINGS],
        ),
        _spec(
            TIER_MIGRATIONS,
            "Tier migrations (F13): every change of a customer's tiers since the previous "
            "as-of date computed, with the figures behind it.",
            [CUSTOMER_TIERS],
        ),
        _spec(
            CUSTOMER_COMPOSITION,
            "Customer composition (F3): customers by type, region and ABC class within type.",
            [CUSTOMER_TIERS, CUSTOMER_FACTS],
        ),
    ],
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    can_subset=False,
)
def customer_tiers(context: dg.AssetExecutionContext, crm: CrmResource):
    """Score every customer of the as-of date, then the migrations since the previous date
    computed and the composition of the customer base."""
    config = crm.config()
    as_of = as_of_date(context)
    with crm.connect() as con:
        facts = read_as_of(con, "marts.customer_facts", as_of)
        pareto = read_as_of(con, "intermediate.int_customer_pareto_classes", as_of)
        ar = read_as_of(con, "marts.customer_ar", as_of)
        ratings = read_as_of(con, "scoring.credit_ratings", as_of)
        complaints_landed = con.execute("select count(*) > 0 from raw.complaints").fetchone()[0]
        tiers = score_customers(facts, pareto, ar, config, complaints_landed, ratings)
        write_as_of(con, "scoring.customer_tiers", tiers, as_of)
        previous_date, previous = previous_as_of(con, "scoring.customer_tiers", as_of)
        migrations = tier_migrations(previous, tiers).with_columns(
            as_of_date=pl.lit(tiers["as_of_date"][0] if tiers.height else None, pl.Date),
            previous_as_of_date=pl.lit(previous_date, pl.Date),
        )
        write_as_of(con, "scoring.tier_migrations", migrations, as_of)
        composition = customer_composition(tiers, facts)
        write_as_of(con, "scoring.customer_composition", composition, as_of)
    if not complaints_landed:
        context.log.info("complaints extract has not landed: satisfaction_band is unknown")
    counts = tiers.group_by("abc_class").len().sort("abc_class")
    yield table_result(
        CUSTOMER_TIERS,
        tiers,
        COLUMNS_OF["customer_tiers"],
        **{
            "config_version": config.version,
            "abc_counts": dg.MetadataValue.json(dict(counts.iter_rows())),
            "size_tier_counts": dg.MetadataValue.json(
                dict(tiers.group_by("size_tier").len().iter_rows())
            ),
            "value_class_counts": dg.MetadataValue.json(
                dict(tiers.group_by("value_class").len().iter_rows())
            ),
            "clv_scored": int(tiers["clv_12m"].is_not_null().sum()),
        },
    )
    yield table_result(
        TIER_MIGRATIONS,
        migrations,
        COLUMNS_OF["tier_migrations"],
        **{
            "previous_as_of_date": str(previous_date),
            "migrations": dg.MetadataValue.json(
                {
                    f"{d}/{x}": n
                    for d, x, n in migrations.group_by("dimension", "direction")
                    .len()
                    .sort("dimension", "direction")
                    .iter_rows()
                }
            ),
        },
    )
    yield table_result(CUSTOMER_COMPOSITION, composition, COLUMNS_OF["customer_composition"])
