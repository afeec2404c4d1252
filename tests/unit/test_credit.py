"""Credit limits, reason codes and actions (F23, F24) on hand-made frames."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.scoring.credit import flag_customers

AS_OF = date(2026, 6, 30)


def _inputs(rows: list[dict]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    base = {
        "onboarding_date": date(2020, 1, 1),
        "first_order_date": date(2020, 2, 1),
        "order_count_lifetime": 50,
        "payment_terms_days": 30,
        "net_sales_12m": 365_000.0,
        "abc_class": "B",
        "ar_balance": 0.0,
        "unapplied_credit": 0.0,
        "overdue_amount": 0.0,
        "ar_current": 0.0,
        "ar_1_30": 0.0,
        "ar_31_60": 0.0,
        "ar_61_90": 0.0,
        "ar_91_180": 0.0,
        "ar_over_180": 0.0,
        "dso": None,
        "bounced_payments_90d": 0,
        "max_days_past_due": 0,
    }
    frame = pl.DataFrame([base | r | {"as_of_date": AS_OF} for r in rows])
    facts = frame.select(
        "customer_id",
        "as_of_date",
        "onboarding_date",
        "first_order_date",
        "order_count_lifetime",
        "payment_terms_days",
        "net_sales_12m",
    )
    tiers = frame.select("customer_id", "abc_class")
    ar = frame.select(
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
    )
    return tiers, facts, ar


def test_limits_by_class_and_new_customer(config):
    tiers, facts, ar = _inputs(
        [
            {"customer_id": "A1", "abc_class": "A"},
            # B: 30 days x 1,000 a day x 1.5 = 45,000
            {"customer_id": "B1", "abc_class": "B"},
            # B with little sales: at least the C limit
            {"customer_id": "B2", "abc_class": "B", "net_sales_12m": 3650.0},
            {"customer_id": "C1", "abc_class": "C"},
            # onboarded 2 months ago: new-customer limit whatever the class
            {"customer_id": "N1", "abc_class": "A", "onboarding_date": date(2026, 5, 1)},
            # old but only 2 orders: new-customer limit
            {"customer_id": "N2", "abc_class": "B", "order_count_lifetime": 2},
        ]
    )
    flags = flag_customers(tiers, facts, ar, config.credit, config.version)
    limits = dict(flags.select("customer_id", "credit_limit").iter_rows())
    assert limits == {
        "A1": None,
        "B1": 45_000.0,
        "B2": 20_000.0,
        "C1": 20_000.0,
        "N1": 10_000.0,
        "N2": 10_000.0,
    }
    assert flags["config_version"].unique().to_list() == [config.version]


def test_reason_codes_and_the_strongest_action(config):
    tiers, facts, ar = _inputs(
        [
            {"customer_id": "ok", "ar_balance": 1000.0, "ar_current": 1000.0},
            # 46,000 on a 45,000 limit
            {"customer_id": "over", "ar_balance": 46_000.0, "ar_current": 46_000.0},
            {"customer_id": "late", "ar_balance": 500.0, "ar_61_90": 500.0},
            {
                "customer_id": "bounced",
                "bounced_payments_90d": 1,
                "ar_balance": 10.0,
                "ar_1_30": 10.0,
            },
            {
                "customer_id": "bad",
                "ar_balance": 900.0,
                "ar_over_180": 900.0,
                "bounced_payments_90d": 2,
            },
            {"customer_id": "unlimited", "abc_class": "A", "ar_balance": 9e9, "ar_current": 9e9},
        ]
    )
    flags = flag_customers(tiers, facts, ar, config.credit, config.version)
    got = {
        r["customer_id"]: (r["reason_codes"], r["recommended_action"], r["utilisation"])
        for r in flags.iter_rows(named=True)
    }
    assert got["ok"] == ([], "none", round(1000 / 45_000, 4))
    assert got["over"] == (
        ["OVER_LIMIT"],
        "require_guarantee_or_deposit",
        round(46_000 / 45_000, 4),
    )
    assert got["late"][:2] == (["OVERDUE_60"], "reduce_supply")
    assert got["bounced"][:2] == (["BOUNCED_PAYMENT_90D"], "cash_on_delivery")
    assert got["bad"][:2] == (
        ["OVERDUE_60", "BOUNCED_PAYMENT_90D", "BAD_DEBT_RISK_180"],
        "hold_shipments",
    )
    assert got["unlimited"] == ([], "none", None)
