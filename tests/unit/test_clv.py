"""CLV (F8): the published CDNOW estimates, and agreement with the lifetimes package."""

from __future__ import annotations

import hashlib
import warnings
from datetime import date

import numpy as np
import polars as pl
import pytest

from pipelines.defs.customer_value.clv import (
    expected_purchases,
    expected_spend,
    fit_beta_geo,
    fit_gamma_gamma,
    fit_sample,
    p_alive,
    score_clv,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes imports the deprecated pkg_resources
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.datasets import (
        load_cdnow_summary,
        load_cdnow_summary_data_with_monetary_value,
    )


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary(index_col=[0])


@pytest.fixture(scope="module")
def cdnow_spend():
    data = load_cdnow_summary_data_with_monetary_value()
    return data[data.frequency > 0]


def test_bg_nbd_reproduces_fader_hardie_lee_on_cdnow(cdnow):
    params = fit_beta_geo(cdnow.frequency.values, cdnow.recency.values, cdnow["T"].values)
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
    assert (params.r, params.alpha, params.a, params.b) == pytest.approx(
        (0.243, 4.414, 0.793, 2.426), abs=1e-3
    )


def test_gamma_gamma_reproduces_fader_hardie_lee_on_cdnow(cdnow_spend):
    params = fit_gamma_gamma(cdnow_spend.frequency.values, cdnow_spend.monetary_value.values)
    # Fader, Hardie & Lee (2005, "RFM and CLV"): p = 6.25, q = 3.74, v = 15.44
    assert (params.p, params.q, params.v) == pytest.approx((6.25, 3.74, 15.44), abs=0.01)
    assert params.population_mean_spend == pytest.approx(6.25 * 15.44 / 2.74, rel=2e-3)


def test_fits_do_not_depend_on_the_order_of_customers(cdnow, cdnow_spend):
    # the working database returns customers in no fixed order; a re-run of the same day
    # must publish the same CLV to the last bit
    order = np.random.default_rng(7).permutation(len(cdnow))
    shuffled = cdnow.iloc[order]
    assert fit_beta_geo(
        shuffled.frequency.values, shuffled.recency.values, shuffled["T"].values
    ) == fit_beta_geo(cdnow.frequency.values, cdnow.recency.values, cdnow["T"].values)
    spend = cdnow_spend.iloc[np.random.default_rng(7).permutation(len(cdnow_spend))]
    assert fit_gamma_gamma(spend.frequency.values, spend.monetary_value.values) == (
        fit_gamma_gamma(cdnow_spend.frequency.values, cdnow_spend.monetary_value.values)
    )


def test_conditional_expectations_match_lifetimes(cdnow, cdnow_spend):
    x, t_x, T = cdnow.frequency.values, cdnow.recency.values, cdnow["T"].values
    ours = fit_beta_geo(x, t_x, T)
    theirs = BetaGeoFitter().fit(cdnow.frequency, cdnow.recency, cdnow["T"])
    np.testing.assert_allclose(
        p_alive(ours, x, t_x, T), theirs.conditional_probability_alive(x, t_x, T), rtol=1e-4
    )
    for t in (1, 39, 52):
        np.testing.assert_allclose(
            expected_purchases(ours, t, x, t_x, T),
            theirs.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T),
            rtol=1e-4,
        )
    gg_ours = fit_gamma_gamma(cdnow_spend.frequency.values, cdnow_spend.monetary_value.values)
    gg_theirs = GammaGammaFitter().fit(cdnow_spend.frequency, cdnow_spend.monetary_value)
    np.testing.assert_allclose(
        expected_spend(gg_ours, cdnow_spend.frequency.values, cdnow_spend.monetary_value.values),
        gg_theirs.conditional_expected_average_profit(
            cdnow_spend.frequency, cdnow_spend.monetary_value
        ),
        rtol=1e-4,
    )


def _facts(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    as_of = date(2026, 6, 30)
    first = [date(2024, 1, 1) + (as_of - date(2024, 1, 1)) * float(u) for u in rng.random(n)]
    days = rng.integers(1, 40, n)
    last = [
        f + (as_of - f) * float(u) if d > 1 else f
        for f, u, d in zip(first, rng.random(n), days, strict=True)
    ]
    lifetime = np.round(days * rng.uniform(100, 900, n), 2)
    return pl.DataFrame(
        {
            "customer_id": [f"{i:06d}" for i in range(n)],
            "first_order_date": first,
            "last_order_date": last,
            "order_days_lifetime": days,
            "net_sales_lifetime": lifetime,
            "purchase_days_net_sales_lifetime": lifetime,
            "first_order_day_net_sales": np.round(lifetime / days, 2),
            "gross_margin_lifetime": np.round(lifetime * 0.25, 2),
        }
    ).with_columns(
        pl.col("first_order_date", "last_order_date").cast(pl.Date),
        as_of_date=pl.lit(as_of),
        margin_rate_12m=pl.lit(0.25),
        has_cost_12m=pl.lit(True),
        has_cost_lifetime=pl.lit(True),
    )


def test_clv_12m_is_the_discounted_monthly_sum_times_the_margin_rate(config):
    facts = _facts(300, seed=3)
    scored = score_clv(facts, config.clv).sort("customer_id")
    assert scored["clv_null_reason"].null_count() == 300
    assert scored["clv_12m"].equals(score_clv(facts, config.clv).sort("customer_id")["clv_12m"])
    # recompute one customer by hand from the fitted models
    frame = facts.with_columns(
        x=(pl.col("order_days_lifetime") - 1).cast(pl.Float64),
        t_x=(pl.col("last_order_date") - pl.col("first_order_date")).dt.total_days().cast(float),
        T=(pl.col("as_of_date") - pl.col("first_order_date")).dt.total_days().cast(float),
        m=(pl.col("purchase_days_net_sales_lifetime") - pl.col("first_order_day_net_sales"))
        / (pl.col("order_days_lifetime") - 1),
    )
    bg = fit_beta_geo(*(frame[c].to_numpy() for c in ("x", "t_x", "T")))
    repeat = frame.filter(pl.col("x") > 0)
    gg = fit_gamma_gamma(repeat["x"].to_numpy(), repeat["m"].to_numpy())
    row = frame.row(7, named=True)
    one = [np.array([row[c]]) for c in ("x", "t_x", "T")]
    spend = expected_spend(gg, one[0], np.array([row["m"] or 0.0]))[0]
    monthly = [
        expected_purchases(bg, 30 * k, *one)[0] - expected_purchases(bg, 30 * (k - 1), *one)[0]
        for k in range(1, 13)
    ]
    by_hand = 0.25 * spend * sum(p / 1.01**k for k, p in enumerate(monthly, start=1))
    assert scored.filter(pl.col("customer_id") == row["customer_id"])["clv_12m"].item() == (
        pytest.approx(by_hand, abs=0.01)
    )


def test_customers_without_purchases_get_nulls_and_a_reason(config):
    facts = pl.concat(
        [
            _facts(50, seed=4),
            _facts(1, seed=5).with_columns(
                customer_id=pl.lit("NEVER"),
                first_order_date=None,
                last_order_date=None,
                order_days_lifetime=0,
                net_sales_lifetime=0.0,
                purchase_days_net_sales_lifetime=0.0,
                first_order_day_net_sales=None,
            ),
        ],
        how="vertical_relaxed",
    )
    never = score_clv(facts, config.clv).filter(pl.col("customer_id") == "NEVER").row(0, named=True)
    assert never == {
        "customer_id": "NEVER",
        "p_alive": None,
        "expected_purchases_365d": None,
        "expected_spend": None,
        "clv_12m": None,
        "clv_null_reason": "no purchases",
    }
    few = score_clv(facts.head(3), config.clv)
    assert set(few["clv_null_reason"]) == {"too few customers to fit the models"}


def test_margin_rate_of_clv_where_12m_has_none(config):
    """12m margin rate; without one (lapsed buyer), the lifetime rate; 1 where cost is unknown.
    The rate only scales a customer's CLV, so each case is compared with the 12m one."""
    facts = _facts(300, seed=3)
    base = dict(score_clv(facts, config.clv).select("customer_id", "clv_12m").iter_rows())
    cases = {
        # lapsed, every line costed: the lifetime rate 25% (gross margin = 25% of sales)
        "000007": ({"margin_rate_12m": None, "has_cost_12m": False}, 1.0),
        # lapsed, some line without cost: 1
        "000008": (
            {"margin_rate_12m": None, "has_cost_12m": False, "has_cost_lifetime": False},
            4.0,
        ),
        # a 12m line without cost: 1, whatever the rate computed from the others
        "000009": ({"has_cost_12m": False, "has_cost_lifetime": False}, 4.0),
    }
    changed = facts
    for customer_id, (values, _) in cases.items():
        changed = changed.with_columns(
            *[
                pl.when(pl.col("customer_id") == customer_id)
                .then(pl.lit(v))
                .otherwise(pl.col(c))
                .alias(c)
                for c, v in values.items()
            ]
        )
    scored = dict(score_clv(changed, config.clv).select("customer_id", "clv_12m").iter_rows())
    for customer_id, (_, ratio) in cases.items():
        # both are rounded to the cent, and the base's rounding is scaled by the ratio
        tolerance = 0.005 * (1 + ratio) + 1e-9
        assert scored[customer_id] == pytest.approx(base[customer_id] * ratio, abs=tolerance)


def test_above_the_sample_size_the_models_are_fitted_on_a_hash_sample_and_all_are_scored(config):
    facts = _facts(1_500, seed=11)
    cfg = config.clv.model_copy(update={"fit_sample_customers": 1_000})
    scored = score_clv(facts, cfg).sort("customer_id")
    assert scored.height == 1_500 and scored["clv_12m"].null_count() == 0
    # the sample: the 1,000 smallest BLAKE2b hashes of the ids, whatever the order of rows
    by_hash = sorted(
        facts["customer_id"],
        key=lambda c: hashlib.blake2b(c.encode(), digest_size=8).digest(),
    )[:1_000]
    shuffled = facts.sample(fraction=1.0, shuffle=True, seed=5)
    assert sorted(fit_sample(shuffled, 1_000)["customer_id"]) == sorted(by_hash)
    # every customer is scored with the parameters of the sample's fit: the customers
    # outside it score as they would with the models fitted on the sample alone
    sample = facts.filter(pl.col("customer_id").is_in(by_hash))
    alone = score_clv(sample, config.clv).sort("customer_id")
    inside = scored.filter(pl.col("customer_id").is_in(by_hash))
    assert inside["clv_12m"].to_list() == alone["clv_12m"].to_list()
    assert inside["p_alive"].to_list() == alone["p_alive"].to_list()
    # and the sample is only taken above the size: below it, all buyers are fitted
    assert fit_sample(facts, 1_500).equals(facts)
    assert score_clv(facts, config.clv).sort("customer_id")["clv_12m"].to_list() != (
        scored["clv_12m"].to_list()
    )
