"""Scoring assets: customer tiers and credit flags computed in Polars from the dbt marts."""

import dagster as dg
import duckdb
import polars as pl

from pipelines.partitions import as_of_partitions, one_date_per_run
from pipelines.resources import CrmResource
from pipelines.scoring.credit import flag_customers
from pipelines.scoring.tiers import score_customers
from pipelines.transform.assets import CUSTOMER_AR, CUSTOMER_FACTS

CUSTOMER_TIERS = dg.AssetKey(["scoring", "customer_tiers"])
CREDIT_FLAGS = dg.AssetKey(["scoring", "credit_flags"])


def _read_as_of(con: duckdb.DuckDBPyConnection, table: str, as_of: str) -> pl.DataFrame:
    return con.execute(f"select * from {table} where as_of_date = ?::date", [as_of]).pl()


def write_partition(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, as_of: str
) -> None:
    """Replace one as-of date's rows of `table` (created from the frame if absent)."""
    schema, _ = table.split(".")
    con.execute(f"create schema if not exists {schema}")
    con.execute(f"create table if not exists {table} as select * from frame limit 0")
    con.execute("begin transaction")
    con.execute(f"delete from {table} where as_of_date = ?::date", [as_of])
    con.execute(f"insert into {table} by name select * from frame")
    con.execute("commit")


@dg.asset(
    key=CUSTOMER_TIERS,
    deps=[CUSTOMER_FACTS],
    group_name="customer_value",
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    kinds={"polars", "duckdb"},
)
def customer_tiers(context: dg.AssetExecutionContext, crm: CrmResource) -> dg.MaterializeResult:
    """Customer tiers per as-of date: ABC class (F4), size tier (F5) and the RFM inputs,
    with the configuration version that produced them."""
    config = crm.config()
    with crm.connect() as con:
        facts = _read_as_of(con, "marts.customer_facts", context.partition_key)
        tiers = score_customers(facts, config.abc, config.size_tier, config.version)
        write_partition(con, "scoring.customer_tiers", tiers, context.partition_key)
    counts = tiers.group_by("abc_class").len().sort("abc_class")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": tiers.height,
            "config_version": config.version,
            "abc_counts": dg.MetadataValue.json(dict(counts.iter_rows())),
            "size_tier_counts": dg.MetadataValue.json(
                dict(tiers.group_by("size_tier").len().iter_rows())
            ),
        }
    )


@dg.asset(
    key=CREDIT_FLAGS,
    deps=[CUSTOMER_TIERS, CUSTOMER_AR, CUSTOMER_FACTS],
    group_name="credit",
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    kinds={"polars", "duckdb"},
)
def credit_flags(context: dg.AssetExecutionContext, crm: CrmResource) -> dg.MaterializeResult:
    """Credit flags per as-of date: AR aging, credit limit and utilisation, reason codes and
    the recommended action (F21, F23, F24)."""
    config = crm.config()
    as_of = context.partition_key
    with crm.connect() as con:
        tiers = _read_as_of(con, "scoring.customer_tiers", as_of)
        facts = _read_as_of(con, "marts.customer_facts", as_of)
        ar = _read_as_of(con, "marts.customer_ar", as_of)
        flags = flag_customers(tiers, facts, ar, config.credit, config.version)
        write_partition(con, "scoring.credit_flags", flags, as_of)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": flags.height,
            "flagged_customers": int(flags["is_flagged"].sum()),
            "ar_balance_total": float(flags["ar_balance"].cast(pl.Float64).sum()),
            "actions": dg.MetadataValue.json(
                dict(flags.group_by("recommended_action").len().iter_rows())
            ),
            "config_version": config.version,
        }
    )
