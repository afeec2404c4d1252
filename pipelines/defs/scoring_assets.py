"""Scoring assets: customer tiers and credit flags computed in Polars from the dbt marts."""

from datetime import date

import dagster as dg
import duckdb
import polars as pl

from pipelines.defs.credit.rating import (
    CREDIT_CLASSES,
    CREDIT_RATING_COLUMNS,
    SINCE_COLUMNS,
    company_view,
    flag_changes,
    flag_customers,
    rate_customers,
    watch_list,
)
from pipelines.defs.customer_value.composition import customer_composition
from pipelines.defs.customer_value.customer_tiers import score_customers
from pipelines.defs.customer_value.tier_migrations import tier_migrations
from pipelines.defs.partitions import as_of_partitions, one_date_per_run
from pipelines.defs.prospects.grading import grade_prospects
from pipelines.defs.publishing.columns import COLUMNS
from pipelines.defs.publishing.metadata import column_schema, frame_schema, published_columns
from pipelines.defs.supply.cover import key_account_supply_risk, supply_cover
from pipelines.defs.transform.assets import (
    CUSTOMER_AR,
    CUSTOMER_FACTS,
    PAYMENT_BEHAVIOUR,
    dbt_project,
)
from pipelines.resources import CrmResource

CUSTOMER_TIERS = dg.AssetKey(["scoring", "customer_tiers"])
CREDIT_RATINGS = dg.AssetKey(["scoring", "credit_ratings"])
CREDIT_REVIEWS = dg.AssetKey(["staging", "stg_erp__credit_reviews"])
CREDIT_FLAGS = dg.AssetKey(["scoring", "credit_flags"])
PROSPECT_GRADES = dg.AssetKey(["scoring", "prospect_grades"])
PROSPECTS_IN_FORCE = dg.AssetKey(["intermediate", "int_prospects_in_force"])
CUSTOMERS_IN_FORCE = dg.AssetKey(["intermediate", "int_customers_in_force"])
SUPPLY_COVER = dg.AssetKey(["scoring", "supply_cover"])
COVER_INPUTS = dg.AssetKey(["intermediate", "int_customer_product_cover"])

# The columns of each asset's table with the descriptions BI tools read (publishing/columns.py,
# the dbt YAML): those of the published table of the same name; the ratings are published
# within credit_flags, all but the date of the limit they step from.
COLUMNS_OF = {
    **{
        table: published_columns(table, dbt_project.manifest_path)
        for table in ("customer_tiers", "credit_flags", "prospect_grades", "supply_cover")
    },
    "credit_ratings": {
        name: COLUMNS["credit_flags"].get(name, "") for name in CREDIT_RATING_COLUMNS
    }
    | {
        "previous_as_of_date": "The customer's previous as-of date computed: when "
        "previous_credit_limit was in force."
    },
}


def _schema(table: str) -> dict[str, dg.TableSchema]:
    """The definition metadata of an asset writing `table`: its column schema."""
    return {"dagster/column_schema": column_schema(COLUMNS_OF[table])}


def _read_as_of(con: duckdb.DuckDBPyConnection, table: str, as_of: str) -> pl.DataFrame:
    return con.execute(f"select * from {table} where as_of_date = ?::date", [as_of]).pl()


def _exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """Whether the table or view `schema.name` exists in the working database."""
    return bool(
        con.execute(
            "select count(*) from (select schema_name, table_name as name from duckdb_tables() "
            "union all select schema_name, view_name from duckdb_views()) "
            "where schema_name || '.' || name = ?",
            [relation],
        ).fetchone()[0]
    )


def _latest_before(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[str], as_of: str
) -> pl.DataFrame:
    """Each customer's latest row of `table` before `as_of` (empty when there is none)."""
    if not _exists(con, table):
        return pl.DataFrame()
    return con.execute(
        f"select {', '.join(columns)} from {table} where as_of_date < ?::date "
        "qualify row_number() over (partition by customer_id order by as_of_date desc) = 1",
        [as_of],
    ).pl()


def _previous(con: duckdb.DuckDBPyConnection, table: str, as_of: str):
    """The rows of `table` at the latest as-of date before `as_of` (an empty frame if none)."""
    if not _exists(con, table):
        return None, pl.DataFrame()
    previous_date = con.execute(
        f"select max(as_of_date) from {table} where as_of_date < ?::date", [as_of]
    ).fetchone()[0]
    frame = con.execute(f"select * from {table} where as_of_date = ?", [previous_date]).pl()
    return previous_date, frame


def write_partition(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, as_of: str
) -> None:
    """Replace one as-of date's rows of `table` (created from the frame if absent, and
    given any column the frame has that it lacks)."""
    schema, _ = table.split(".")
    con.execute(f"create schema if not exists {schema}")
    con.execute(f"create table if not exists {table} as select * from frame limit 0")
    # columns added by a newer version of a rule are added to the table (null before)
    existing = {r[0] for r in con.execute(f"describe {table}").fetchall()}
    for name, column_type, *_ in con.execute("describe select * from frame").fetchall():
        if name not in existing:
            con.execute(f'alter table {table} add column "{name}" {column_type}')
    con.execute("begin transaction")
    con.execute(f"delete from {table} where as_of_date = ?::date", [as_of])
    con.execute(f"insert into {table} by name select * from frame")
    con.execute("commit")


@dg.asset(
    key=CREDIT_RATINGS,
    deps=[CUSTOMER_FACTS, CUSTOMER_AR, PAYMENT_BEHAVIOUR, CREDIT_REVIEWS],
    group_name="credit",
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    kinds={"polars", "duckdb"},
    metadata=_schema("credit_ratings"),
)
def credit_ratings(context: dg.AssetExecutionContext, crm: CrmResource) -> dg.MaterializeResult:
    """Credit rating per customer and as-of date (F23 as amended): a points scorecard of the
    payment record, AR quality, relationship, size and value and security, blended with the
    latest credit review when one is in force; the credit class A-D it gives; and the
    credit limit, moved toward the class's target gradually from the previous as-of date's
    limit. The scorecard, component by component, is scoring.credit_scorecard."""
    config = crm.config()
    as_of = context.partition_key
    with crm.connect() as con:
        facts = _read_as_of(con, "marts.customer_facts", as_of)
        ar = _read_as_of(con, "marts.customer_ar", as_of)
        behaviour = _read_as_of(con, "marts.customer_payment_behaviour", as_of)
        reviews = (
            con.execute(
                "select * from staging.stg_erp__credit_reviews where review_date <= ?::date",
                [as_of],
            ).pl()
            if _exists(con, "staging.stg_erp__credit_reviews")
            else pl.DataFrame()
        )
        history = _latest_before(
            con, "scoring.credit_ratings", ["customer_id", "as_of_date", "credit_limit"], as_of
        )
        ratings, scorecard = rate_customers(
            facts, ar, behaviour, config.credit, config.version, reviews, history
        )
        write_partition(con, "scoring.credit_ratings", ratings, as_of)
        write_partition(con, "scoring.credit_scorecard", scorecard, as_of)
    if reviews.is_empty():
        context.log.info(
            "no credit review has landed (optional credit_reviews extract): "
            "the ratings rest on payment behaviour only"
        )
    classes = dict(ratings.group_by("credit_class").len().iter_rows())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": ratings.height,
            "dagster/column_schema": frame_schema(ratings, COLUMNS_OF["credit_ratings"]),
            "credit_classes": dg.MetadataValue.json({c: classes.get(c, 0) for c in CREDIT_CLASSES}),
            "with_review": int((ratings["rating_basis"] == "behaviour_and_review").sum()),
            "no_credit": int((ratings["credit_limit"] == 0).sum()),
            "limits_stepped": int(
                (ratings["credit_limit"] != ratings["credit_limit_target"]).fill_null(False).sum()
            ),
            "distinct_limits": ratings["credit_limit"].n_unique(),
            "config_version": config.version,
        }
    )


@dg.asset(
    key=CUSTOMER_TIERS,
    deps=[CUSTOMER_FACTS, CUSTOMER_AR, CREDIT_RATINGS],
    group_name="customer_value",
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    kinds={"polars", "duckdb"},
    metadata=_schema("customer_tiers"),
)
def customer_tiers(context: dg.AssetExecutionContext, crm: CrmResource) -> dg.MaterializeResult:
    """Customer tiers per as-of date: ABC (F4), size tier (F5), revenue and profit grades (F6),
    RFM (F7), CLV (F8), value class (F9), dimension classes (F11), development class (F12)
    and the recommended treatment, with the configuration version that produced them; and
    the migrations since the previous as-of date computed (F13, scoring.tier_migrations) and
    the customer composition by type, region and ABC within type (F3)."""
    config = crm.config()
    as_of = context.partition_key
    with crm.connect() as con:
        facts = _read_as_of(con, "marts.customer_facts", as_of)
        ar = _read_as_of(con, "marts.customer_ar", as_of)
        ratings = _read_as_of(con, "scoring.credit_ratings", as_of)
        complaints_landed = con.execute("select count(*) > 0 from raw.complaints").fetchone()[0]
        tiers = score_customers(facts, ar, config, complaints_landed, ratings)
        write_partition(con, "scoring.customer_tiers", tiers, as_of)
        previous_date, previous = _previous(con, "scoring.customer_tiers", as_of)
        migrations = tier_migrations(previous, tiers).with_columns(
            as_of_date=pl.lit(tiers["as_of_date"][0] if tiers.height else None, pl.Date),
            previous_as_of_date=pl.lit(previous_date, pl.Date),
        )
        write_partition(con, "scoring.tier_migrations", migrations, as_of)
        write_partition(
            con, "scoring.customer_composition", customer_composition(tiers, facts), as_of
        )
    if not complaints_landed:
        context.log.info("complaints extract has not landed: satisfaction_band is unknown")
    counts = tiers.group_by("abc_class").len().sort("abc_class")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": tiers.height,
            "dagster/column_schema": frame_schema(tiers, COLUMNS_OF["customer_tiers"]),
            "config_version": config.version,
            "abc_counts": dg.MetadataValue.json(dict(counts.iter_rows())),
            "size_tier_counts": dg.MetadataValue.json(
                dict(tiers.group_by("size_tier").len().iter_rows())
            ),
            "value_class_counts": dg.MetadataValue.json(
                dict(tiers.group_by("value_class").len().iter_rows())
            ),
            "clv_scored": int(tiers["clv_12m"].is_not_null().sum()),
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
        }
    )


@dg.asset(
    key=CREDIT_FLAGS,
    deps=[CREDIT_RATINGS, CUSTOMER_TIERS, CUSTOMER_AR, PAYMENT_BEHAVIOUR],
    group_name="credit",
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    kinds={"polars", "duckdb"},
    metadata=_schema("credit_flags"),
)
def credit_flags(context: dg.AssetExecutionContext, crm: CrmResource) -> dg.MaterializeResult:
    """Credit flags per as-of date: AR aging and payment behaviour, credit limit and
    utilisation, reason codes, the recommended action and since when (F21-F24); with the
    flags raised and cleared since the previous as-of date computed
    (scoring.credit_flag_changes), the company view against the receivables warning line
    and the watch list by exposure (F25: scoring.credit_company_view, credit_watch_list)."""
    config = crm.config()
    as_of = context.partition_key
    with crm.connect() as con:
        tiers = _read_as_of(con, "scoring.customer_tiers", as_of)
        ratings = _read_as_of(con, "scoring.credit_ratings", as_of)
        ar = _read_as_of(con, "marts.customer_ar", as_of)
        behaviour = _read_as_of(con, "marts.customer_payment_behaviour", as_of)
        previous_date, previous = _previous(con, "scoring.credit_flags", as_of)
        # each customer's latest earlier row: what flagged_since and action_since go on from
        history = _latest_before(con, "scoring.credit_flags", list(SINCE_COLUMNS), as_of)
        flags = flag_customers(
            ratings, tiers, ar, behaviour, config.credit, config.version, history
        )
        write_partition(con, "scoring.credit_flags", flags, as_of)
        changes = flag_changes(previous, flags).with_columns(
            as_of_date=pl.lit(date.fromisoformat(as_of)),
            previous_as_of_date=pl.lit(previous_date, pl.Date),
        )
        write_partition(con, "scoring.credit_flag_changes", changes, as_of)
        company = company_view(flags, config.credit, date.fromisoformat(as_of))
        write_partition(
            con,
            "scoring.credit_company_view",
            company.with_columns(config_version=pl.lit(config.version)),
            as_of,
        )
        write_partition(con, "scoring.credit_watch_list", watch_list(flags, tiers), as_of)
    view = company.row(0, named=True)
    if view["is_above_warning_line"]:
        context.log.warning(
            f"total AR {view['total_ar_balance']:,.2f} is above the warning line "
            f"{view['warning_line_cny']:,.2f} (F25)"
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": flags.height,
            "dagster/column_schema": frame_schema(flags, COLUMNS_OF["credit_flags"]),
            "flagged_customers": int(flags["is_flagged"].sum()),
            "reason_codes": dg.MetadataValue.json(
                dict(
                    flags.select(pl.col("reason_codes").explode())
                    .drop_nulls()
                    .group_by("reason_codes")
                    .len()
                    .iter_rows()
                )
            ),
            "ar_balance_total": view["total_ar_balance"],
            "ar_to_warning_line": view["ar_to_warning_line"],
            "top_n_ar_share": view["top_n_ar_share"],
            "actions": dg.MetadataValue.json(
                dict(flags.group_by("recommended_action").len().iter_rows())
            ),
            "flags_raised": int((changes["change"] == "raised").sum()),
            "flags_cleared": int((changes["change"] == "cleared").sum()),
            "config_version": config.version,
        }
    )


@dg.asset(
    key=PROSPECT_GRADES,
    deps=[CUSTOMER_TIERS, PROSPECTS_IN_FORCE, CUSTOMERS_IN_FORCE],
    group_name="prospects",
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    kinds={"polars", "duckdb"},
    metadata=_schema("prospect_grades"),
)
def prospect_grades(context: dg.AssetExecutionContext, crm: CrmResource) -> dg.MaterializeResult:
    """Prospect grades A-D by likelihood to close (F10) from the prospect list in force,
    with the points behind each grade. Empty, with a message, when the optional prospects
    extract has not landed."""
    config = crm.config()
    as_of = context.partition_key
    with crm.connect() as con:
        prospects = con.execute("select * from intermediate.int_prospects_in_force").pl()
        tiers = _read_as_of(con, "scoring.customer_tiers", as_of)
        customers = con.execute(
            "select customer_id, customer_name_key from intermediate.int_customers_in_force"
        ).pl()
        grades = grade_prospects(
            prospects, tiers, config.prospects, date.fromisoformat(as_of), customers
        )
        write_partition(con, "scoring.prospect_grades", grades, as_of)
    if prospects.is_empty():
        context.log.info("prospects extract has not landed: no prospect grades for " + as_of)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": grades.height,
            "dagster/column_schema": frame_schema(grades, COLUMNS_OF["prospect_grades"]),
            "grades": dg.MetadataValue.json(
                dict(grades.group_by("prospect_grade").len().sort("prospect_grade").iter_rows())
            ),
            "config_version": config.version,
        }
    )


@dg.asset(
    key=SUPPLY_COVER,
    deps=[CUSTOMER_TIERS, COVER_INPUTS],
    group_name="supply",
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    kinds={"polars", "duckdb"},
    metadata=_schema("supply_cover"),
)
def key_account_supply_cover(
    context: dg.AssetExecutionContext, crm: CrmResource
) -> dg.MaterializeResult:
    """Key-account supply assurance (F18): days of channel stock cover per key account and
    product, flagged below the threshold in force (stricter before a peak season) when the
    product has the minimum sell-in; and per key account the products at risk, ranked by
    the sell-in value at risk (scoring.key_account_supply_risk)."""
    config = crm.config()
    as_of = context.partition_key
    with crm.connect() as con:
        cover = con.execute("select * from intermediate.int_customer_product_cover").pl()
        tiers = _read_as_of(con, "scoring.customer_tiers", as_of)
        frame = supply_cover(
            cover, tiers, config.supply_cover, date.fromisoformat(as_of), config.version
        )
        write_partition(con, "scoring.supply_cover", frame, as_of)
        risk = key_account_supply_risk(frame)
        write_partition(con, "scoring.key_account_supply_risk", risk, as_of)
    if cover.filter(pl.col("stock_snapshot_date").is_not_null()).is_empty():
        context.log.info("no channel inventory has landed: days of cover cannot be computed")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "dagster/column_schema": frame_schema(frame, COLUMNS_OF["supply_cover"]),
            "key_accounts": frame["customer_id"].n_unique(),
            "below_threshold": int(frame["is_below_threshold"].sum()),
            "counted_as_zero_stock": int(frame["stock_counted_as_zero"].sum()),
            "accounts_at_risk": int((risk["products_at_risk"] > 0).sum()),
            "sell_in_value_at_risk": float(risk["sell_in_value_at_risk"].sum()),
            "top_accounts_at_risk": dg.MetadataValue.json(
                risk.filter(pl.col("risk_rank") <= 10)
                .select(
                    "risk_rank",
                    "customer_id",
                    "products_at_risk",
                    "stock_outs",
                    "sell_in_value_at_risk",
                )
                .to_dicts()
            ),
            "peak_season": str(config.supply_cover.peak_season(date.fromisoformat(as_of))),
            "config_version": config.version,
        }
    )
