"""The company's credit exposure (F25): total receivables against the warning line, the
share of the largest debtors, and the watch list of flagged customers by exposure."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.config import CreditConfig
from pipelines.defs.credit.flags import ACTIONS


def company_view(flags: pl.DataFrame, cfg: CreditConfig, as_of: date) -> pl.DataFrame:
    """F25 in one row: total AR against the warning line (a configured share of the
    company's assets), AR concentration in the top customers, and the flagged exposure."""
    amounts = flags.with_columns(
        balance=pl.col("ar_balance").cast(pl.Float64),
        owed=pl.col("ar_balance").cast(pl.Float64).clip(lower_bound=0),
    ).sort(["balance", "customer_id"], descending=[True, False])
    warning_line = cfg.ar_warning_share * cfg.company_assets_cny
    total = amounts["balance"].sum()
    owed = amounts["owed"].sum()

    def share_of_owed(part: pl.DataFrame) -> float | None:
        return round(part["owed"].sum() / owed, 4) if owed > 0 else None

    def total_of(column: str) -> float:
        return round(float(flags[column].cast(pl.Float64).sum()), 2)

    actions = {
        f"customers_{action}": [int((flags["recommended_action"] == action).sum())]
        for action in ACTIONS[1:]
    }
    flagged = amounts.filter(pl.col("recommended_action") != "none")
    view = pl.DataFrame(
        {
            "as_of_date": [as_of],
            "total_ar_balance": [round(total, 2)],
            "total_receivable": [round(owed, 2)],
            "total_unapplied_credit": [total_of("unapplied_credit")],
            "total_overdue_amount": [total_of("overdue_amount")],
            "total_ar_over_180": [total_of("ar_over_180")],
            "company_assets_cny": [float(cfg.company_assets_cny)],
            "ar_warning_share": [cfg.ar_warning_share],
            "warning_line_cny": [round(warning_line, 2)],
            "ar_to_warning_line": [round(total / warning_line, 4)],
            "is_above_warning_line": [total > warning_line],
            "concentration_top_n": [cfg.concentration_top_n],
            "top_n_ar_share": [share_of_owed(amounts.head(cfg.concentration_top_n))],
            "top_customer_ar_share": [share_of_owed(amounts.head(1))],
            "customers_with_ar": [int((amounts["balance"] > 0).sum())],
            "flagged_customers": [int(flags["is_flagged"].sum())],
            "flagged_exposure": [round(flagged["owed"].sum(), 2)],
            **actions,
        }
    )
    # typed, so a first date without AR does not create integer or null-typed columns
    shares = ["ar_to_warning_line", "top_n_ar_share", "top_customer_ar_share"]
    return view.with_columns(pl.col(shares).cast(pl.Float64))


def watch_list(flags: pl.DataFrame, tiers: pl.DataFrame) -> pl.DataFrame:
    """F25 watch list: customers whose flags call for an action, largest exposure first,
    with the value classes beside the risk (a valuable customer going bad is worth a call)."""
    return (
        flags.filter(pl.col("recommended_action") != "none")
        .join(
            tiers.select("customer_id", "size_tier", "value_class", "clv_12m"),
            on="customer_id",
            how="left",
        )
        .sort(["ar_balance", "customer_id"], descending=[True, False])
        .with_columns(exposure_rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int32))
        .select(
            "as_of_date",
            "exposure_rank",
            "customer_id",
            "ar_balance",
            "overdue_amount",
            "ar_over_180",
            "exposure",
            "credit_class",
            "credit_score",
            "credit_limit",
            "utilisation",
            "reason_codes",
            "reason_details",
            "recommended_action",
            "flagged_since",
            "abc_class",
            "size_tier",
            "value_class",
            "clv_12m",
        )
    )
