"""Customer lifetime value (F8): BG/NBD and Gamma-Gamma, fitted by maximum likelihood.

The definitions are those of Fader, Hardie & Lee ("Counting your customers the easy way",
2005; "RFM and CLV", 2005) as implemented in the lifetimes package, so results can be
checked against it: purchase periods are days; over each customer's whole history up to the
as-of date, frequency = distinct purchase days - 1, recency = days from the first to the last
purchase day, T = days from the first purchase day to the as-of date; the Gamma-Gamma model
is fitted on customers with repeat purchases and a positive mean repeat-day spend.

A small scipy implementation rather than a library: lifetimes is no longer maintained and
pymc-marketing brings a probabilistic-programming stack (PyMC, PyTensor) for two closed-form
likelihoods. The tests reproduce the published CDNOW estimates and lifetimes' own results.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from pipelines.config import ClvConfig


@dataclass(frozen=True)
class BetaGeoParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float

    @property
    def population_mean_spend(self) -> float:
        return self.p * self.v / (self.q - 1)


# parameters between e^-20 and e^20: far beyond any fitted on purchase data
LOG_PARAM_BOUND = 20.0


def _minimize(negative_log_likelihood, start: np.ndarray):
    """Quasi-Newton on log-parameters, tolerances relative to the likelihood's size; a
    Nelder-Mead restart when the gradient method stops early. Log-parameters stay within
    +-LOG_PARAM_BOUND, and where the likelihood overflows on the way it counts as infinitely
    unlikely (no numerical warnings: they are the optimiser's, not the data's)."""

    def objective(log_params: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            value = negative_log_likelihood(log_params)
        return value if np.isfinite(value) else np.inf

    bounds = [(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * len(start)
    result = minimize(
        objective,
        start,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2_000, "ftol": 1e-13, "gtol": 1e-8},
    )
    if not result.success:
        result = minimize(
            objective,
            result.x,
            method="Nelder-Mead",
            bounds=bounds,
            options={"maxiter": 4_000, "xatol": 1e-8, "fatol": 1e-6},
        )
    return result


def _canonical_order(*columns) -> tuple[np.ndarray, ...]:
    """The columns as floats, rows sorted by their values. A likelihood sums in row order,
    and the optimiser follows the sums' last bits: sorted, a fit depends only on the
    customers, not on the order the working database returned them in."""
    arrays = [np.asarray(c, dtype=float) for c in columns]
    order = np.lexsort(arrays[::-1])
    return tuple(a[order] for a in arrays)


def beta_geo_log_likelihood(
    params: BetaGeoParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood of the BG/NBD model (FHL 2005, eq. 6)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    stays = -(r + x) * np.log(alpha + T)
    drops = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x)
    return common + np.where(x > 0, np.logaddexp(stays, drops), stays)


def fit_beta_geo(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BetaGeoParams:
    """Maximum-likelihood BG/NBD parameters (optimised on their logarithms)."""
    x, t_x, T = _canonical_order(x, t_x, T)

    def negative(log_params: np.ndarray) -> float:
        return -beta_geo_log_likelihood(BetaGeoParams(*np.exp(log_params)), x, t_x, T).sum()

    start = np.log([1.0, max(T.mean(), 1.0) / max(x.mean() + 1, 1.0), 1.0, 1.0])
    result = _minimize(negative, start)
    if not np.isfinite(result.fun):
        raise ValueError(f"BG/NBD fit did not converge: {result.message}")
    return BetaGeoParams(*np.exp(result.x))


def p_alive(params: BetaGeoParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Probability that the customer is still active at T (1 without repeat purchases)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_ratio = (r + x) * np.log((alpha + T) / (alpha + t_x)) + np.log(
        a / (b + np.maximum(x, 1) - 1)
    )
    return np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)


def expected_purchases(
    params: BetaGeoParams, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Expected purchases in the next t periods given (x, t_x, T) (FHL 2005, eq. 10)."""
    if t == 0:
        return np.zeros_like(np.asarray(x, dtype=float))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a_, b_, c_ = r + x, b + x, a + b + x - 1
    z = t / (alpha + T + t)
    hyp = hyp2f1(a_, b_, c_, z)
    # where the series overflows, Euler's transformation gives the same value
    log_hyp = np.where(
        np.isfinite(hyp) & (hyp > 0),
        np.log(np.where(hyp > 0, hyp, 1.0)),
        np.log(hyp2f1(c_ - a_, c_ - b_, c_, z)) + (c_ - a_ - b_) * np.log(1 - z),
    )
    first = (a + b + x - 1) / (a - 1)
    second = 1 - np.exp(log_hyp + (r + x) * np.log((alpha + T) / (alpha + t + T)))
    denominator = 1 + (x > 0) * (a / (b + x - 1 + (x == 0))) * ((alpha + T) / (alpha + t_x)) ** (
        r + x
    )
    return first * second / denominator


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, x: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood of the Gamma-Gamma spend model (x > 0, m > 0)."""
    p, q, v = params.p, params.q, params.v
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(x * m + v)
    )


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from repeat customers' mean spend."""
    x, m = _canonical_order(x, m)

    def negative(log_params: np.ndarray) -> float:
        return -gamma_gamma_log_likelihood(GammaGammaParams(*np.exp(log_params)), x, m).sum()

    result = _minimize(negative, np.log([1.0, 1.0, max(m.mean(), 1.0)]))
    params = GammaGammaParams(*np.exp(result.x))
    if not np.isfinite(result.fun) or params.q <= 1:
        raise ValueError("Gamma-Gamma fit gave no finite mean spend (q <= 1)")
    return params


def expected_spend(params: GammaGammaParams, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Expected mean spend per purchase; the population mean without repeat purchases."""
    p, q, v = params.p, params.q, params.v
    repeat = (x > 0) & (m > 0)
    safe_m = np.where(repeat, m, 0.0)
    return np.where(repeat, p * (v + x * safe_m) / (p * x + q - 1), params.population_mean_spend)


def fit_sample(buyers: pl.DataFrame, size: int) -> pl.DataFrame:
    """The buyers the models are fitted on: all of them up to `size`, else the `size` whose
    customer id has the smallest BLAKE2b hash: a uniform sample, the same whatever the
    order of the rows, the run or the library versions."""
    if buyers.height <= size:
        return buyers
    keys = pl.Series(
        [
            int.from_bytes(hashlib.blake2b(c.encode("utf-8"), digest_size=8).digest(), "big")
            for c in buyers["customer_id"]
        ],
        dtype=pl.UInt64,
    )
    return buyers.with_columns(_key=keys).sort("_key", "customer_id").head(size).drop("_key")


def score_clv(facts: pl.DataFrame, cfg: ClvConfig) -> pl.DataFrame:
    """p_alive, expected_purchases_365d, expected_spend and clv_12m per customer (F8).

    Customers the models cannot score get nulls and `clv_null_reason`, never zeros. Above
    `cfg.fit_sample_customers` buyers the models are fitted on a hash sample of them
    (`fit_sample`) and every buyer is scored.
    """
    frame = facts.select(
        "customer_id",
        pl.col("order_days_lifetime").cast(pl.Float64).sub(1).alias("frequency"),
        (pl.col("last_order_date") - pl.col("first_order_date"))
        .dt.total_days()
        .cast(pl.Float64)
        .alias("recency"),
        (pl.col("as_of_date") - pl.col("first_order_date"))
        .dt.total_days()
        .cast(pl.Float64)
        .alias("T"),
        (
            # spend of the repeat purchase days (return-only days are no purchase)
            (pl.col("purchase_days_net_sales_lifetime") - pl.col("first_order_day_net_sales")).cast(
                pl.Float64
            )
            / (pl.col("order_days_lifetime") - 1)
        ).alias("monetary"),
        # the 12m margin rate; where there is none (no positive 12m sales), the lifetime
        # one; 1 where cost is unknown
        pl.coalesce(
            pl.when(pl.col("has_cost_12m")).then(pl.col("margin_rate_12m").cast(pl.Float64)),
            pl.when(
                pl.col("has_cost_lifetime").fill_null(False) & (pl.col("net_sales_lifetime") > 0)
            ).then(
                (pl.col("gross_margin_lifetime") / pl.col("net_sales_lifetime")).cast(pl.Float64)
            ),
            pl.lit(1.0),
        ).alias("clv_margin_rate"),
    )
    buyers = frame.filter(pl.col("T").is_not_null())
    empty = frame.select(
        "customer_id",
        *[
            pl.lit(None, pl.Float64).alias(c)
            for c in ("p_alive", "expected_purchases_365d", "expected_spend", "clv_12m")
        ],
        pl.when(pl.col("T").is_null())
        .then(pl.lit("no purchases"))
        .otherwise(pl.lit("too few customers to fit the models"))
        .alias("clv_null_reason"),
    )
    repeat = buyers.filter((pl.col("frequency") > 0) & (pl.col("monetary") > 0))
    if buyers.height < 10 or repeat.height < 5:
        return empty
    x, t_x, T = (buyers[c].to_numpy() for c in ("frequency", "recency", "T"))
    fitted = fit_sample(buyers, cfg.fit_sample_customers)
    fitted_repeat = fitted.filter((pl.col("frequency") > 0) & (pl.col("monetary") > 0))
    try:
        bg = fit_beta_geo(*(fitted[c].to_numpy() for c in ("frequency", "recency", "T")))
        gg = fit_gamma_gamma(
            fitted_repeat["frequency"].to_numpy(), fitted_repeat["monetary"].to_numpy()
        )
    except ValueError as exc:
        return empty.with_columns(
            clv_null_reason=pl.when(pl.col("clv_null_reason") == "no purchases")
            .then(pl.col("clv_null_reason"))
            .otherwise(pl.lit(f"model fit failed: {exc}"))
        )
    monetary = buyers["monetary"].fill_null(0).to_numpy()
    spend = expected_spend(gg, x, monetary)
    discounted = np.zeros_like(x)
    previous = expected_purchases(bg, 0, x, t_x, T)
    for month in range(1, cfg.horizon_months + 1):
        cumulative = expected_purchases(bg, month * cfg.month_days, x, t_x, T)
        discounted += (cumulative - previous) / (1 + cfg.monthly_discount_rate) ** month
        previous = cumulative
    scored = buyers.select("customer_id").with_columns(
        p_alive=pl.Series(p_alive(bg, x, t_x, T)),
        expected_purchases_365d=pl.Series(expected_purchases(bg, 365, x, t_x, T)),
        expected_spend=pl.Series(spend),
        clv_12m=pl.Series(spend * discounted * buyers["clv_margin_rate"].to_numpy()),
        clv_null_reason=pl.lit(None, pl.String),
    )
    scored = scored.with_columns(
        *[
            pl.col(c).round(6, mode="half_away_from_zero")
            for c in ("p_alive", "expected_purchases_365d")
        ],
        pl.col("expected_spend").round(2, mode="half_away_from_zero"),
        pl.col("clv_12m").round(2, mode="half_away_from_zero"),
    )
    return pl.concat(
        [scored, empty.filter(~pl.col("customer_id").is_in(scored["customer_id"].implode()))]
    )
