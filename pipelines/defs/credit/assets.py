"""Credit assets: the credit rating and limit of every customer per as-of date, then the
credit flags, the recommended action and the company's exposure, computed in Polars from
the AR and payment-behaviour marts."""

import dagster as dg
import polars as pl

from pipelines.defs.credit.exposure import company_view, watch_list
from pipelines.defs.credit.flags import SINCE_COLUMNS, flag_changes, flag_customers
from pipelines.defs.credit.keys import (
    CREDIT_COMPANY_VIEW,
    CREDIT_FLAG_CHANGES,
    CREDIT_FLAGS,
    CREDIT_RATINGS,
    CREDIT_SCORECARD,
    CREDIT_WATCH_LIST,
)
from pipelines.defs.credit.rating import CREDIT_CLASSES, CREDIT_RATING_COLUMNS, rate_customers
from pipelines.defs.customer_value.keys import CUSTOMER_TIERS
from pipelines.defs.partitions import as_of_date, as_of_partitions, one_date_per_run
from pipelines.defs.publishing.columns import COLUMNS
from pipelines.defs.publishing.metadata import published_columns, table_result, table_spec
from pipelines.defs.transform.assets import dbt_project
from pipelines.defs.transform.keys import (
    CREDIT_REVIEWS,
    CUSTOMER_AR,
    CUSTOMER_FACTS,
    PAYMENT_BEHAVIOUR,
)
from pipelines.resources import CrmResource
from pipelines.storage.tables import (
    exists,
    latest_before,
    previous_as_of,
    read_as_of,
    write_as_of,
)

# The columns of each asset's table with the descriptions BI tools read: those of the
# published table of the same name; the ratings are published within credit_flags, all but
# the date of the limit they step from.
COLUMNS_OF = {
    **{
        table: published_columns(table, dbt_project.manifest_path)
        for table in (
            "credit_scorecard",
            "credit_flags",
            "credit_flag_changes",
            "credit_company_view",
            "credit_watch_list",
        )
    },
    "credit_ratings": {
        name: COLUMNS["credit_flags"].get(name, "") for name in CREDIT_RATING_COLUMNS
    }
    | {
        "previous_as_of_date": "The customer's previous as-of date computed: when "
        "previous_credit_limit was in force."
    },
}


def _spec(key: dg.AssetKey, description: str, deps: list[dg.AssetKey]) -> dg.AssetSpec:
    return table_spec(key, description, deps, "credit", COLUMNS_OF[key.path[-1]])


def _result(key: dg.AssetKey, frame: pl.DataFrame, **metadata) -> dg.MaterializeResult:
    return table_result(key, frame, COLUMNS_OF[key.path[-1]], **metadata)


@dg.multi_asset(
    name="scoring__credit_ratings",
    specs=[
        _spec(
            CREDIT_RATINGS,
            "Credit rating per customer and as-of date (F23 as amended): a points scorecard "
            "of the payment record, AR quality, relationship, size and value and security, "
            "blended with the latest credit review when one is in force; the credit class "
            "A-D it gives; and the credit limit, moved toward the class's target gradually "
            "from the previous as-of date's limit.",
            [CUSTOMER_FACTS, CUSTOMER_AR, PAYMENT_BEHAVIOUR, CREDIT_REVIEWS],
        ),
        _spec(
            CREDIT_SCORECARD,
            "The credit scorecard, component by component: each customer's figure, points "
            "and maximum per component of the rating.",
            [CREDIT_RATINGS],
        ),
    ],
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    can_subset=False,
)
def credit_ratings(context: dg.AssetExecutionContext, crm: CrmResource):
    """Rate every customer of the as-of date, stepping each limit from the customer's latest
    earlier one."""
    config = crm.config()
    as_of = as_of_date(context)
    with crm.connect() as con:
        facts = read_as_of(con, "marts.customer_facts", as_of)
        ar = read_as_of(con, "marts.customer_ar", as_of)
        behaviour = read_as_of(con, "marts.customer_payment_behaviour", as_of)
        reviews = (
            con.execute(
                "select * from staging.stg_erp__credit_reviews where review_date <= ?", [as_of]
            ).pl()
            if exists(con, "staging.stg_erp__credit_reviews")
            else pl.DataFrame()
        )
        history = latest_before(
            con, "scoring.credit_ratings", ["customer_id", "as_of_date", "credit_limit"], as_of
        )
        ratings, scorecard = rate_customers(
            facts, ar, behaviour, config.credit, config.version, reviews, history
        )
        write_as_of(con, "scoring.credit_ratings", ratings, as_of)
        write_as_of(con, "scoring.credit_scorecard", scorecard, as_of)
    if reviews.is_empty():
        context.log.info(
            "no credit review has landed (optional credit_reviews extract): "
            "the ratings rest on payment behaviour only"
        )
    classes = dict(ratings.group_by("credit_class").len().iter_rows())
    yield _result(
        CREDIT_RATINGS,
        ratings,
        credit_classes=dg.MetadataValue.json({c: classes.get(c, 0) for c in CREDIT_CLASSES}),
        with_review=int((ratings["rating_basis"] == "behaviour_and_review").sum()),
        no_credit=int((ratings["credit_limit"] == 0).sum()),
        limits_stepped=int(
            (ratings["credit_limit"] != ratings["credit_limit_target"]).fill_null(False).sum()
        ),
        distinct_limits=ratings["credit_limit"].n_unique(),
        config_version=config.version,
    )
    yield _result(CREDIT_SCORECARD, scorecard, config_version=config.version)


@dg.multi_asset(
    name="scoring__credit_flags",
    specs=[
        _spec(
            CREDIT_FLAGS,
            "Credit flags per as-of date: AR aging and payment behaviour, credit limit and "
            "utilisation, reason codes, the recommended action and since when (F21-F24).",
            [CREDIT_RATINGS, CUSTOMER_TIERS, CUSTOMER_AR, PAYMENT_BEHAVIOUR],
        ),
        _spec(
            CREDIT_FLAG_CHANGES,
            "The flags raised and cleared since the previous as-of date computed.",
            [CREDIT_FLAGS],
        ),
        _spec(
            CREDIT_COMPANY_VIEW,
            "The company view (F25): total receivables against the warning line and the "
            "share of the largest debtors.",
            [CREDIT_FLAGS],
        ),
        _spec(
            CREDIT_WATCH_LIST,
            "The watch list (F25): flagged customers ranked by exposure.",
            [CREDIT_FLAGS, CUSTOMER_TIERS],
        ),
    ],
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    can_subset=False,
)
def credit_flags(context: dg.AssetExecutionContext, crm: CrmResource):
    """Flag every customer of the as-of date, then what changed since the previous date
    computed, the company's exposure and the watch list."""
    config = crm.config()
    as_of = as_of_date(context)
    with crm.connect() as con:
        tiers = read_as_of(con, "scoring.customer_tiers", as_of)
        ratings = read_as_of(con, "scoring.credit_ratings", as_of)
        ar = read_as_of(con, "marts.customer_ar", as_of)
        behaviour = read_as_of(con, "marts.customer_payment_behaviour", as_of)
        previous_date, previous = previous_as_of(con, "scoring.credit_flags", as_of)
        # each customer's latest earlier row: what flagged_since and action_since go on from
        history = latest_before(con, "scoring.credit_flags", list(SINCE_COLUMNS), as_of)
        flags = flag_customers(
            ratings, tiers, ar, behaviour, config.credit, config.version, history
        )
        write_as_of(con, "scoring.credit_flags", flags, as_of)
        changes = flag_changes(previous, flags).with_columns(
            as_of_date=pl.lit(as_of),
            previous_as_of_date=pl.lit(previous_date, pl.Date),
        )
        write_as_of(con, "scoring.credit_flag_changes", changes, as_of)
        company = company_view(flags, config.credit, as_of).with_columns(
            config_version=pl.lit(config.version)
        )
        write_as_of(con, "scoring.credit_company_view", company, as_of)
        watched = watch_list(flags, tiers)
        write_as_of(con, "scoring.credit_watch_list", watched, as_of)
    view = company.row(0, named=True)
    if view["is_above_warning_line"]:
        context.log.warning(
            f"total AR {view['total_ar_balance']:,.2f} is above the warning line "
            f"{view['warning_line_cny']:,.2f} (F25)"
        )
    yield _result(
        CREDIT_FLAGS,
        flags,
        flagged_customers=int(flags["is_flagged"].sum()),
        reason_codes=dg.MetadataValue.json(
            dict(
                flags.select(pl.col("reason_codes").explode())
                .drop_nulls()
                .group_by("reason_codes")
                .len()
                .iter_rows()
            )
        ),
        actions=dg.MetadataValue.json(dict(flags.group_by("recommended_action").len().iter_rows())),
        config_version=config.version,
    )
    yield _result(
        CREDIT_FLAG_CHANGES,
        changes,
        flags_raised=int((changes["change"] == "raised").sum()),
        flags_cleared=int((changes["change"] == "cleared").sum()),
    )
    yield _result(
        CREDIT_COMPANY_VIEW,
        company,
        ar_balance_total=view["total_ar_balance"],
        ar_to_warning_line=view["ar_to_warning_line"],
        top_n_ar_share=view["top_n_ar_share"],
    )
    yield _result(CREDIT_WATCH_LIST, watched)
