"""RFM (F7), value classes (F9), dimensions (F11), development (F12) and the recommended
treatment, on hand-made frames with hand-computed results. The grades (F6) are computed by
dbt and tested there (int_customer_pareto_classes' unit tests)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from pipelines.config import DimensionConfig, ValueClassConfig
from pipelines.defs.customer_value.rfm import quintile_score, rfm
from pipelines.defs.customer_value.value_classes import (
    development_class,
    dimension_classes,
    recommended_treatment,
    value_classes,
)


def _by_id(frame: pl.DataFrame, *columns: str) -> dict:
    rows = frame.select("customer_id", *columns).iter_rows()
    return {r[0]: (r[1] if len(columns) == 1 else r[1:]) for r in rows}


def test_quintile_scores_share_ties_and_skip_nulls():
    frame = pl.DataFrame({"v": [1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, None]})
    scores = frame.select(quintile_score(pl.col("v")))["v"].to_list()
    # n = 10, ranks 1,2,2,4,...,10 -> floor(5 (rank - 1) / 10) + 1
    assert scores == [1, 1, 1, 2, 3, 3, 4, 4, 5, 5, None]


def test_rfm_scores_codes_and_segments(config):
    as_of = date(2026, 6, 30)
    frame = pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(1, 9)],
            "as_of_date": [as_of] * 8,
            "recency_days": [3, 5, 30, 90, 400, None, 0, 80],
            "frequency_12m": [50, 20, 10, 3, 0, 0, 1, 1],
            "monetary_12m": [9000.0, 5000.0, 1000.0, 200.0, 0.0, 0.0, 50.0, 40.0],
            "first_order_date": [
                date(2020, 1, 1),
                date(2020, 1, 1),
                date(2020, 1, 1),
                date(2020, 1, 1),
                date(2020, 1, 1),
                None,
                date(2025, 1, 1),  # in the New cell, first bought 545 days ago: not new
                date(2026, 4, 11),  # first and only purchase 80 days ago: New, whatever its cell
            ],
        }
    )
    result = rfm(frame, config.rfm)
    # 7 buyers: score = floor(5 (rank - 1) / 7) + 1, ranks from the worst (recency: the
    # longest ago is rank 1): R c5 1, c4 1, c8 2, c3 3, c2 3, c1 4, c7 5
    assert _by_id(result, "rfm_code", "rfm_segment") == {
        "c1": ("455", "Loyal"),
        "c2": ("344", "Loyal"),
        "c3": ("333", "Need Attention"),
        "c4": ("133", "At Risk"),
        "c5": ("111", "Lost"),  # bought before, nothing in 12 months
        "c6": (None, None),  # never bought: no scores
        "c7": ("512", "Promising"),  # the New cell, but first bought 545 days ago
        "c8": ("211", "New"),  # Hibernating by its cell, but a newcomer
    }


VALUE = ValueClassConfig(
    mvc_top_share=0.2,
    mgc_top_share=0.2,
    mgc_min_prior_12m_net_sales=100,
    mgc_min_growth_rate=0.1,
    mgc_min_p_alive=0.5,
    return_handling_rate=0.05,
    overdue_carrying_rate=0.02,
    provision_91_180=0.5,
    provision_over_180=1.0,
)


def test_value_classes_bzc_first_then_mvc_then_mgc():
    frame = pl.DataFrame(
        {
            "customer_id": ["big", "grow", "bzc", "n1", "n2", "none", "shut", "dying", "leaving"],
            "customer_status": ["active"] * 6 + ["closed", "active", "active"],
            "net_sales_12m": [1000.0, 300.0, 500.0, 200.0, 100.0, 0.0, 2000.0, 400.0, 400.0],
            "net_sales_prior_12m": [900.0, 150.0, 500.0, 200.0, 50.0, 0.0, 100.0, 100.0, 100.0],
            "growth_rate_12m": [0.11, 1.0, 0.0, 0.0, 1.0, None, 19.0, 3.0, 3.0],
            "gross_margin_12m": [300.0, 60.0, 100.0, 40.0, 20.0, 0.0, 900.0, 80.0, 80.0],
            "clv_12m": [400.0, 50.0, 900.0, 30.0, 10.0, None, 5000.0, 20.0, 20.0],
            "p_alive": [0.9, 0.8, 0.9, 0.9, 0.9, None, 0.0, 0.3, 0.9],
            "is_churn_risk": [False, False, False, False, False, None, True, False, True],
            "returns_12m": [0.0, 0.0, 100.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "overdue_amount": [0.0] * 9,
            "ar_91_180": [0.0, 0.0, 50.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "ar_over_180": [0.0, 0.0, 80.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        }
    )
    result = value_classes(frame, VALUE)
    # bzc: 100 - (100 x .05 + 50 x .5 + 80 x 1) = -10 -> BZC although its CLV is the highest
    assert _by_id(result, "cost_to_serve_12m", "net_value_12m")["bzc"] == (110.0, -10.0)
    # 8 transacting: MVC = top ceil(1.6) = 2 by CLV, bzc and the closed shut excluded: big,
    # grow; MGC = top 2 by growth among the active, alive (p_alive >= .5), not at risk, with
    # prior >= 100 and growth >= .1: n2's prior is 50, dying's p_alive .3, leaving at risk,
    # shut closed: none left
    assert _by_id(result, "value_class") == {
        "big": "MVC",
        "grow": "MVC",
        "bzc": "BZC",
        "n1": "normal",
        "n2": "normal",
        "none": "normal",
        "shut": "normal",
        "dying": "normal",
        "leaving": "normal",
    }
    # with a floor of .2 the dying customer qualifies: the top growth left
    lenient = value_classes(frame, VALUE.model_copy(update={"mgc_min_p_alive": 0.2}))
    assert _by_id(lenient, "value_class")["dying"] == "MGC"


def test_development_class_dimensions_and_treatment():
    ids = ["mass", "deep", "brand", "none", "never", "shut", "owes", "vipbad", "vipold", "cgone"]
    frame = pl.DataFrame(
        {
            "customer_id": ids,
            "customer_status": ["active"] * 5 + ["closed", "closed", "active", "active", "active"],
            "net_sales_12m_low_tier": [80.0, 10.0, 0.0, 0.0, 0.0] + [50.0] * 5,
            "net_sales_12m_mid_tier": [20.0, 50.0, 30.0, 0.0, 0.0] + [0.0] * 5,
            "net_sales_12m_high_tier": [0.0, 40.0, 70.0, 0.0, 0.0] + [0.0] * 5,
            "dominant_category_12m": ["dairy", "meat", "snack", None, None] + ["dairy"] * 5,
            "order_count_12m": [60, 12, 6, 0, 0] + [12] * 5,
            "cooperation_years": [5.0, 3.0, 0.5, None, None] + [5.0] * 5,
            "complaints_12m": [0, 2, 1, 0, 0] + [0] * 5,
            "avg_satisfaction_12m": [None, 4.5, 2.0, None, None] + [None] * 5,
            "value_class": ["normal", "BZC", "MVC", "normal", "normal"] + ["normal"] * 5,
            "net_sales_12m": [100.0, 100.0, 100.0, 0.0, 0.0] + [50.0] * 5,
            "profit_grade": ["A", "A", "B", "D", "D", "A", "A", "A", "B", "C"],
            # "none" bought before the 12m; "never" never did
            "first_order_date": [date(2020, 1, 1)] * 4 + [None] + [date(2020, 1, 1)] * 5,
            "ar_balance": [0.0] * 6 + [500.0, 900.0, 0.0, 0.0],
            "ar_61_90": [0.0] * 7 + [900.0, 0.0, 0.0],
            "ar_91_180": [0.0] * 10,
            "ar_over_180": [0.0] * 10,
            "credit_class": ["A", "A", "B", None, None, "A", "D", "B", "B", "C"],
            "is_churn_risk": [False] * 8 + [True, True],
        }
    )
    dims = DimensionConfig(
        high_frequency_min_orders_per_month=4,
        medium_frequency_min_orders_per_month=1,
        long_term_min_years=3,
        high_satisfaction_min=4.0,
        low_satisfaction_max=2.5,
    )
    result = frame.with_columns(
        *dimension_classes(dims, complaints_landed=True),
        development_class=development_class(),
        recommended_treatment=recommended_treatment(),
    )
    assert {
        k: v
        for k, v in _by_id(
            result,
            "development_class",
            "need_category",
            "frequency_band",
            "cooperation_band",
            "satisfaction_band",
            "recommended_treatment",
        ).items()
        if k in ids[:5]
    } == {
        # no complaint says nothing of satisfaction: unknown
        "mass": ("mass_distribution", "dairy", "high", "long_term", "unknown", "key_service"),
        "deep": ("deep_distribution", "meat", "medium", "long_term", "high", "exit_review"),
        "brand": ("brand", "snack", "low", "short_term", "low", "develop_to_a"),
        "none": (None, None, None, None, "unknown", "reactivate"),
        "never": (None, None, None, None, "unknown", "win_first_order"),
    }
    assert {k: v for k, v in _by_id(result, "recommended_treatment").items() if k in ids[5:]} == {
        "shut": "exit",  # closed, owes nothing: never key service
        "owes": "collect_and_exit",  # closed and still owes
        "vipbad": "protect_and_secure",  # grade A with 900 more than 60 days past due
        "vipold": "win_back",  # grade B at risk of churning
        "cgone": "reactivate",  # grade C at risk of churning (and class C)
    }
    without = frame.with_columns(*dimension_classes(dims, complaints_landed=False))
    assert without["satisfaction_band"].unique().to_list() == ["unknown"]


@pytest.mark.parametrize("cells", [[(1, 1)], []])
def test_the_rfm_grid_must_cover_every_cell_once(config, cells):
    from pipelines.config import RfmConfig

    segments = [s.model_dump() for s in config.rfm.segments]
    if cells:
        segments.append({"segment": "Twice", "r": [1], "f": [1]})
    else:
        segments = segments[1:]
    with pytest.raises(ValueError, match="exactly once"):
        RfmConfig(
            segments=segments,
            new_customer_max_days=90,
            new_segment="New",
            new_cell_otherwise="Promising",
        )


def test_churn_risk_against_each_customers_own_rhythm(config):
    from pipelines.defs.customer_value.churn import churn_risk

    frame = pl.DataFrame(
        {
            "customer_id": ["weekly_late", "weekly_ok", "one_order_old", "never"],
            "days_since_last_order": [22, 20, 91, None],
            "median_order_interval_days": [7.0, 7.0, None, None],
        },
        schema_overrides={"days_since_last_order": pl.Int64},
    )
    result = frame.with_columns(*churn_risk(config.churn))
    assert _by_id(result, "is_churn_risk", "churn_risk_reason") == {
        # 22 > 3 x 7 = 21
        "weekly_late": (True, "no order for 22 days, more than 3 x the median gap of 7.0 days"),
        "weekly_ok": (False, None),
        "one_order_old": (
            True,
            "no order for 91 days, more than 90 days (fewer than two order days)",
        ),
        "never": (None, None),
    }


def test_prospect_grades_from_points(config):
    from datetime import date

    from pipelines.defs.prospects.grading import grade_prospects

    prospects = pl.DataFrame(
        {
            "prospect_id": ["hot", "warm", "cold", "lost"],
            "customer_type": ["distributor"] * 4,
            "region": ["east"] * 4,
            "lead_source": ["referral"] * 4,
            "stage": ["trial_order", "qualified", "new", "lost"],
            "expected_monthly_volume": [60000.0, 20000.0, 1000.0, 90000.0],
            "last_contact_date": [
                date(2026, 6, 20),
                date(2026, 5, 1),
                date(2025, 1, 1),
                date(2026, 6, 29),
            ],
            "visit_count": [12, 3, 0, 20],
            "referred_by_customer_id": ["000001", None, "000002", "000001"],
        }
    )
    tiers = pl.DataFrame(
        {
            "customer_id": ["000001", "000002"],
            "size_tier": ["vip", "small"],
            "abc_class": ["A", "C"],
        }
    )
    grades = grade_prospects(prospects, tiers, config.prospects, date(2026, 6, 30))
    got = {
        r["prospect_id"]: (r["prospect_score"], r["prospect_grade"])
        for r in grades.iter_rows(named=True)
    }
    assert got == {
        # trial 40 + contact 10 days ago 20 + visits 12 x 2 capped 20 + volume 10 + VIP referral 10
        "hot": (100.0, "A"),
        # qualified 20 + contact 60 days ago 10 + visits 6 + volume 5 = 41
        "warm": (41.0, "C"),
        # new 5, referrer is small and C: no referral points
        "cold": (5.0, "D"),
        # lost is D whatever its points
        "lost": (0.0 + 20 + 20 + 10 + 10, "D"),
    }


def test_customer_composition_by_type_region_and_abc_within_type():
    from datetime import date

    from pipelines.defs.customer_value.composition import customer_composition

    as_of = date(2026, 6, 30)
    tiers = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "customer_type": ["distributor", "distributor", "retailer", "retailer"],
            "region": ["east", "east", "east", "south"],
            "abc_class": ["A", "C", "A", "C"],
        }
    ).with_columns(as_of_date=pl.lit(as_of))
    facts = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "net_sales_12m": [600.0, 100.0, 250.0, 50.0],
            "gross_margin_12m": [60.0, 10.0, 50.0, 5.0],
        }
    )
    rows = {
        (r["dimension"], r["segment"]): (
            r["customers"],
            r["net_sales_12m"],
            r["share_of_company_12m"],
            r["share_within_type_12m"],
        )
        for r in customer_composition(tiers, facts).iter_rows(named=True)
    }
    assert rows == {
        ("customer_type", "distributor"): (2, 700.0, 0.7, None),
        ("customer_type", "retailer"): (2, 300.0, 0.3, None),
        ("region", "east"): (3, 950.0, 0.95, None),
        ("region", "south"): (1, 50.0, 0.05, None),
        ("customer_type_abc", "distributor/A"): (1, 600.0, 0.6, round(600 / 700, 6)),
        ("customer_type_abc", "distributor/C"): (1, 100.0, 0.1, round(100 / 700, 6)),
        ("customer_type_abc", "retailer/A"): (1, 250.0, 0.25, round(250 / 300, 6)),
        ("customer_type_abc", "retailer/C"): (1, 50.0, 0.05, round(50 / 300, 6)),
    }
