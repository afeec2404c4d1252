"""Credit limits, flags and recommended actions (SPEC F23, F24): plain Polars functions."""

from __future__ import annotations

import polars as pl

from pipelines.config import CreditConfig

# The action ladder of SPEC F24, mildest first; a customer gets the strongest its flags call for.
ACTIONS = [
    "none",
    "require_guarantee_or_deposit",
    "reduce_supply",
    "cash_on_delivery",
    "hold_shipments",
]
# reason code -> action it calls for
REASON_ACTIONS = {
    "OVER_LIMIT": "require_guarantee_or_deposit",
    "OVERDUE_60": "reduce_supply",
    "BOUNCED_PAYMENT_90D": "cash_on_delivery",
    "BAD_DEBT_RISK_180": "hold_shipments",
}


def is_new_customer(cfg: CreditConfig) -> pl.Expr:
    """New customer (F23): onboarded or first ordering within the last N months, or few orders."""
    since = pl.coalesce("onboarding_date", "first_order_date")
    months = (pl.col("as_of_date") - since).dt.total_days() / 30.4375
    return (months.fill_null(0) < cfg.new_customer_max_months) | (
        pl.col("order_count_lifetime") < cfg.new_customer_min_orders
    )


def credit_limit(cfg: CreditConfig) -> pl.Expr:
    """Credit limit in CNY (null = unlimited): new customers small, A unlimited,
    B = payment terms x average daily 12m sales x multiplier (at least the C limit), C small."""
    daily_sales = pl.col("net_sales_12m").cast(pl.Float64).clip(lower_bound=0) / 365
    b_limit = pl.col("payment_terms_days").fill_null(0) * daily_sales * cfg.b_limit_multiplier
    return (
        pl.when(pl.col("is_new_customer"))
        .then(pl.lit(cfg.new_customer_limit_cny))
        .when(pl.col("abc_class") == "A")
        .then(pl.lit(None, pl.Float64))
        .when(pl.col("abc_class") == "B")
        .then(pl.max_horizontal(b_limit, cfg.c_limit_cny))
        .otherwise(pl.lit(cfg.c_limit_cny))
        .round(2, mode="half_away_from_zero")
    )


def reason_codes(cfg: CreditConfig) -> pl.Expr:
    """The list of reason codes that apply (empty list = no flag)."""
    overdue_beyond = pl.col("ar_61_90") + pl.col("ar_91_180") + pl.col("ar_over_180")
    rules = {
        "OVER_LIMIT": pl.col("utilisation") > 1,
        "OVERDUE_60": overdue_beyond > 0,
        "BOUNCED_PAYMENT_90D": pl.col("bounced_payments_90d") > 0,
        "BAD_DEBT_RISK_180": pl.col("ar_over_180") > 0,
    }
    return pl.concat_list(
        [pl.when(rule.fill_null(False)).then(pl.lit(code)) for code, rule in rules.items()]
    ).list.drop_nulls()


def recommended_action() -> pl.Expr:
    """The strongest action on the ladder called for by the reason codes."""
    levels = {code: ACTIONS.index(action) for code, action in REASON_ACTIONS.items()}
    level = (
        pl.col("reason_codes").list.eval(pl.element().replace_strict(levels, default=0)).list.max()
    )
    return level.fill_null(0).replace_strict(dict(enumerate(ACTIONS)), return_dtype=pl.String)


def flag_customers(
    tiers: pl.DataFrame,
    facts: pl.DataFrame,
    ar: pl.DataFrame,
    cfg: CreditConfig,
    config_version: str,
) -> pl.DataFrame:
    """credit_flags rows for one as-of date: AR position, limit, utilisation, flags, action."""
    frame = (
        facts.select(
            "customer_id",
            "as_of_date",
            "onboarding_date",
            "first_order_date",
            "order_count_lifetime",
            "payment_terms_days",
            "net_sales_12m",
        )
        .join(tiers.select("customer_id", "abc_class"), on="customer_id", how="left")
        .join(ar.drop("as_of_date"), on="customer_id", how="left")
        .with_columns(is_new_customer=is_new_customer(cfg))
        .with_columns(credit_limit=credit_limit(cfg))
    )
    balance = pl.col("ar_balance").cast(pl.Float64)
    return (
        frame.with_columns(
            utilisation=pl.when(pl.col("credit_limit") > 0).then(
                (balance / pl.col("credit_limit")).round(4, mode="half_away_from_zero")
            )
        )
        .with_columns(reason_codes=reason_codes(cfg))
        .with_columns(
            recommended_action=recommended_action(),
            is_flagged=pl.col("reason_codes").list.len() > 0,
            config_version=pl.lit(config_version),
        )
        .select(
            "customer_id",
            "as_of_date",
            "ar_balance",
            "unapplied_credit",
            "overdue_amount",
            "ar_current",
            "ar_1_30",
            "ar_31_60",
            "ar_61_90",
            "ar_91_180",
            "ar_over_180",
            "dso",
            "bounced_payments_90d",
            "max_days_past_due",
            "abc_class",
            "is_new_customer",
            "credit_limit",
            "utilisation",
            "reason_codes",
            "is_flagged",
            "recommended_action",
            "config_version",
        )
        .sort("customer_id")
    )
