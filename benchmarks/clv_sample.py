"""How much the CLV fit on a hash sample (config clv.fit_sample_customers) saves, and what
it changes: `python benchmarks/clv_sample.py [customers] [sample]`.

Customers are drawn from a BG/NBD and Gamma-Gamma population with the parameters of the
CDNOW fit (purchase and dropout processes, spend), over two years to an as-of date. The
script scores them twice, with all buyers fitted and with the sample, and prints the
seconds of each, the parameters, and how far each customer's clv_12m moved. Nothing is
asserted: the timings depend on the machine.
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta

import numpy as np
import polars as pl

from pipelines.config import load_config
from pipelines.defs.customer_value import clv
from pipelines.settings import PROJECT_ROOT


def population(n: int, seed: int = 7) -> pl.DataFrame:
    """Customer facts of `n` customers: BG/NBD (r, alpha, a, b of CDNOW) and Gamma-Gamma."""
    rng = np.random.default_rng(seed)
    as_of = date(2026, 3, 31)
    T = rng.integers(30, 730, n).astype(float)  # days since the first purchase
    rate = rng.gamma(0.243, 1 / 4.414, n)  # purchases per day while alive
    dropout = rng.beta(0.793, 2.426, n)  # chance of dying after each purchase
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        t, alive = 0.0, True
        while alive:
            t += rng.exponential(1 / rate[i]) if rate[i] > 0 else T[i] + 1
            if t > T[i]:
                break
            x[i] += 1
            t_x[i] = np.floor(t)
            alive = rng.random() >= dropout[i]
    x = np.minimum(x, np.floor(t_x))  # purchases are days: at most one a day
    spend = rng.gamma(6.25, 1 / (6.25 / 35.0), n)  # each customer's mean spend (CNY 35)
    first = [as_of - timedelta(days=int(d)) for d in T]
    days = (x + 1).astype(int)
    lifetime = np.round(days * spend, 2)
    return pl.DataFrame(
        {
            "customer_id": [f"C{i:08d}" for i in range(n)],
            "first_order_date": first,
            "last_order_date": [f + timedelta(days=int(d)) for f, d in zip(first, t_x)],
            "order_days_lifetime": days,
            "net_sales_lifetime": lifetime,
            "purchase_days_net_sales_lifetime": lifetime,
            "first_order_day_net_sales": np.round(spend, 2),
            "gross_margin_lifetime": np.round(lifetime * 0.25, 2),
        }
    ).with_columns(
        as_of_date=pl.lit(as_of),
        margin_rate_12m=pl.lit(0.25),
        has_cost_12m=pl.lit(True),
        has_cost_lifetime=pl.lit(True),
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    sample = int(sys.argv[2]) if len(sys.argv) > 2 else 250_000
    config = load_config(PROJECT_ROOT / "config" / "crm.yaml").clv
    facts = population(n)
    results = {}
    for label, size in (("all buyers", n), (f"sample of {sample:,}", sample)):
        started = time.perf_counter()
        results[label] = clv.score_clv(
            facts, config.model_copy(update={"fit_sample_customers": size})
        )
        print(f"{label}: {time.perf_counter() - started:.1f} s")
    full, part = (results[k].sort("customer_id")["clv_12m"].to_numpy() for k in results)
    moved = np.abs(part - full) / np.maximum(np.abs(full), 1.0)
    print(
        f"customers {n:,}; total clv_12m {full.sum():,.0f} vs {part.sum():,.0f} "
        f"({(part.sum() / full.sum() - 1):+.3%})"
    )
    print(
        f"per customer |change| / clv: median {np.median(moved):.3%}, "
        f"p99 {np.quantile(moved, 0.99):.3%}, max {moved.max():.3%}"
    )


if __name__ == "__main__":
    main()
