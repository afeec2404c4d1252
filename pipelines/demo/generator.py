"""Deterministic demo extracts for a Chinese food manufacturer (the file names and columns of docs/analyses.md#extract-contract).

The data is shaped like the real thing so every analysis can be judged on it: customer sizes
are log-normal (the top 20% of customers buy about three quarters of sales) and so is the
popularity of the SKUs (about a quarter of them make 80% of sales), customers order on their
own weekday rhythm, Spring Festival and Mid-Autumn lift demand, some customers churn and new
ones start, distributors and key accounts report channel stock, payers range from punctual to
chronically late, with partial and unreferenced receipts, credit notes, bounced bills and
extension requests, the larger customers are credit-reviewed about once a year, and targets
are set around the sales that came.

Behaviours are planted, and what is planted is written to a ground-truth file beside the
landing folder, never inside it (`<out>_truth.csv`: never ingested, never published), one row
per customer and kind (kind, customer_id, product_id, detail), about the end date: a kind is
listed only where the extracts really show it by then, so the pipeline's figures can be
judged against it.

- steady_payer: established (onboarded and first ordered a year or more before the end),
  still ordering, pays every invoice in full by bank transfer on or before its due date; no
  extension, bounce, partial or lump receipt.
- chronic_late_payer: pays 30-150 days late throughout (a few invoices never).
- deteriorating_payer: on time (at most 5 days late) on invoices due until 182 days before
  the end, 20-40 days late on those due in the quarter before last, 45-90 days late on those
  due in the last quarter, so some are past due and open at the end.
- bounced_bill: a bill or cheque bounced: a reversal dated in the last 90 days.
- stopped_paying: still ordering, but no payment for the invoices of about the last 150 days
  (some open more than 60 days past due at the end).
- churner: ordered regularly, then stopped for good 100-400 days before the end.
- grower: established, 20,000 CNY or more in the prior 12 months and at least 1.6 times that
  in the last 12, still ordering, a steady or mildly late payer.
- stockout: a key account's latest stock snapshot (the end date is a snapshot date) has no
  line (zero stock) for a product it bought in the last 28 days; one row per product. Other
  products hold about 15-90 days of cover, a minority of lean stockers' lines less than 14.

Master data is delivered as weekly full snapshots (every Monday and on the last day), channel
inventory as month-end snapshots and one on the last day, sales/payments/complaints/credit
reviews as daily deltas, prospects as monthly snapshots and targets once a year.

Customers are generated in blocks: each block's sales lines and what follows from them
(payments, complaints, channel stock, credit reviews, its rows of the truth, per-block sums
for the targets) are appended to the daily and month-end files before the next block starts,
so memory stays bounded at any size.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.defs.ingestion.landing import file_name_for

CUSTOMER_TYPES = ["distributor", "retailer", "agent", "key_account", "end_customer"]
TYPE_WEIGHTS = [0.20, 0.35, 0.08, 0.05, 0.32]
# Relative purchase scale, orders per week and lines per order, by customer type.
TYPE_SCALE = {
    "distributor": 2.5,
    "retailer": 1.0,
    "agent": 1.5,
    "key_account": 3.5,
    "end_customer": 0.7,
}
TYPE_ORDERS_PER_WEEK = {
    "distributor": 1.0,
    "retailer": 0.6,
    "agent": 0.7,
    "key_account": 1.5,
    "end_customer": 0.8,
}
TYPE_LINES = {
    "distributor": 6.0,
    "retailer": 3.5,
    "agent": 4.5,
    "key_account": 8.0,
    "end_customer": 3.0,
}
TYPE_TERMS = {
    "distributor": [30, 45],
    "retailer": [30],
    "agent": [30],
    "key_account": [60, 90],
    "end_customer": [0, 15],
}
TYPE_PRICE_DISCOUNT = {
    "distributor": 0.15,
    "retailer": 0.05,
    "agent": 0.12,
    "key_account": 0.10,
    "end_customer": 0.0,
}

REGIONS = {
    "east": [
        ("上海", "上海"),
        ("江苏", "南京"),
        ("江苏", "苏州"),
        ("浙江", "杭州"),
        ("浙江", "宁波"),
        ("山东", "济南"),
        ("山东", "青岛"),
        ("安徽", "合肥"),
        ("福建", "福州"),
    ],
    "south": [
        ("广东", "广州"),
        ("广东", "深圳"),
        ("广东", "东莞"),
        ("广西", "南宁"),
        ("海南", "海口"),
    ],
    "north": [
        ("北京", "北京"),
        ("天津", "天津"),
        ("河北", "石家庄"),
        ("山西", "太原"),
        ("内蒙古", "呼和浩特"),
    ],
    "central": [("河南", "郑州"), ("湖北", "武汉"), ("湖南", "长沙"), ("江西", "南昌")],
    "southwest": [("四川", "成都"), ("重庆", "重庆"), ("云南", "昆明"), ("贵州", "贵阳")],
    "northeast": [("辽宁", "沈阳"), ("辽宁", "大连"), ("吉林", "长春"), ("黑龙江", "哈尔滨")],
    "northwest": [("陕西", "西安"), ("甘肃", "兰州"), ("宁夏", "银川"), ("青海", "西宁")],
    "west": [("新疆", "乌鲁木齐"), ("西藏", "拉萨")],
}
REGION_WEIGHTS = {
    "east": 0.27,
    "south": 0.18,
    "north": 0.15,
    "central": 0.13,
    "southwest": 0.11,
    "northeast": 0.07,
    "northwest": 0.06,
    "west": 0.03,
}

CATEGORIES = {  # category: (Chinese name, base list price CNY per unit, share of SKUs)
    "beverage": ("饮料", 48.0, 0.20),
    "dairy": ("乳制品", 65.0, 0.16),
    "meat": ("肉制品", 120.0, 0.14),
    "snack": ("休闲零食", 36.0, 0.18),
    "frozen": ("速冻食品", 85.0, 0.12),
    "condiment": ("调味品", 42.0, 0.12),
    "bakery": ("烘焙", 55.0, 0.08),
}
PRICE_TIERS = {"low": (0.7, 0.16), "mid": (1.0, 0.26), "high": (1.8, 0.38)}  # price factor, margin
UNITS = ["箱", "件", "提", "袋"]

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
)
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文斌辉鹏飞")
SHOP_WORDS = [
    "鑫",
    "盛",
    "福",
    "源",
    "丰",
    "泰",
    "隆",
    "兴",
    "旺",
    "达",
    "康",
    "乐",
    "佳",
    "和",
    "顺",
    "宏",
]
SUFFIX_BY_TYPE = {
    "distributor": "食品商贸有限公司",
    "retailer": "便利超市",
    "agent": "贸易商行",
    "key_account": "连锁超市有限公司",
    "end_customer": "餐饮管理有限公司",
}

# Peak seasons: Spring Festival and Mid-Autumn dates; demand rises in the three weeks before.
FESTIVALS = [
    date(2023, 1, 22),
    date(2023, 9, 29),
    date(2024, 2, 10),
    date(2024, 9, 17),
    date(2025, 1, 29),
    date(2025, 10, 6),
    date(2026, 2, 17),
    date(2026, 9, 25),
    date(2027, 2, 6),
    date(2027, 9, 15),
    date(2028, 1, 26),
    date(2028, 10, 3),
]

MASTER_SNAPSHOT_WEEKDAY = 0  # Monday

# Customers per block: about this many customer-days (a block of 5,000 customers over six
# years is about 4 million sales lines), at most MAX_BLOCK_CUSTOMERS.
BLOCK_CUSTOMER_DAYS = 11_000_000
MAX_BLOCK_CUSTOMERS = 10_000

CSV_OPTIONS = {"date_format": "%Y-%m-%d", "float_precision": 2, "null_value": ""}

# SKU popularity is log-normal with this sigma: about a quarter of the SKUs make 80% of sales.
POPULARITY_SIGMA = 1.5
# Planted behaviours (module docstring), as shares of the customers they are drawn from.
CHURN_SHARE = 0.11  # of the customers ordering at least about twice a month
DETERIORATING_SHARE = 0.065  # of the established customers that do not churn
STOPPED_SHARE = 0.025  # likewise
GROWER_SHARE = 0.18  # of the larger established customers paying steadily or mildly late
BOUNCE_SHARE = 0.065  # of the customers not paying steadily: a bill bounces in the last 90 days
RANDOM_BOUNCE = 0.006  # of any other bill or cheque receipt
STOCKOUT_SHARE = 0.4  # of the larger key accounts
STOCKOUT_MIN_SELL_IN_CNY = 2000  # a planted stockout is of a product that sells
LEAN_SHARE = 0.15  # of the stock holders: some of their lines hold less than 14 days of cover
REVIEWED_SHARE = 0.33  # the larger customers are credit-reviewed about once a year
TRUTH_KINDS = [
    "steady_payer",
    "chronic_late_payer",
    "deteriorating_payer",
    "bounced_bill",
    "stopped_paying",
    "churner",
    "grower",
    "stockout",
]


@dataclass(frozen=True)
class DemoSpec:
    """What to generate: `customers` customers over the `days` days ending on `end_date`."""

    customers: int = 3000
    days: int = 730
    end_date: date = date(2026, 11, 23)
    seed: int = 42
    encoding: str = "utf-8"

    @property
    def start_date(self) -> date:
        return self.end_date - timedelta(days=self.days - 1)


def _person(rng: np.random.Generator, n: int) -> np.ndarray:
    s = rng.choice(SURNAMES, n)
    g1 = rng.choice(GIVEN, n)
    g2 = np.where(rng.random(n) < 0.6, rng.choice(GIVEN, n), "")
    return np.char.add(np.char.add(s, g1), g2)


def _generate_products(rng: np.random.Generator, spec: DemoSpec) -> pl.DataFrame:
    n = int(rng.integers(180, 241))
    cats = list(CATEGORIES)
    cat = rng.choice(cats, n, p=[CATEGORIES[c][2] for c in cats])
    tier = rng.choice(list(PRICE_TIERS), n, p=[0.40, 0.40, 0.20])
    base = np.array([CATEGORIES[c][1] for c in cat])
    factor = np.array([PRICE_TIERS[t][0] for t in tier])
    list_price = np.round(base * factor * rng.uniform(0.8, 1.25, n), 2)
    margin = np.array([PRICE_TIERS[t][1] for t in tier]) + rng.normal(0, 0.04, n)
    unit_cost = np.round(list_price * (1 - np.clip(margin, 0.06, 0.55)), 2)
    launch = [spec.start_date - timedelta(days=int(d)) for d in rng.integers(60, 2500, n)]
    new_idx = rng.choice(n, size=max(1, n // 12), replace=False)  # launched inside the window
    for i in new_idx:
        launch[i] = spec.start_date + timedelta(days=int(rng.integers(30, max(31, spec.days - 30))))
    names = [
        f"{CATEGORIES[c][0]}{ {'low': '经典', 'mid': '优选', 'high': '臻品'}[t] }{i:03d}"
        for i, (c, t) in enumerate(zip(cat, tier, strict=True), start=1)
    ]
    popularity = rng.lognormal(0.0, POPULARITY_SIGMA, n)
    return pl.DataFrame(
        {
            "product_id": [f"P{i:05d}" for i in range(1, n + 1)],
            "product_name": names,
            "category": cat,
            "price_tier": tier,
            "unit": rng.choice(UNITS, n),
            "list_price": list_price,
            "unit_cost": unit_cost,
            "launch_date": launch,
            "_popularity": popularity,  # generator-only (not written)
        }
    )


def _pick(rng: np.random.Generator, eligible: np.ndarray, share: float) -> np.ndarray:
    """A mask of `share` of the `eligible` customers drawn at random (at least one)."""
    candidates = np.flatnonzero(eligible)
    k = min(len(candidates), max(1, round(share * len(candidates))))
    chosen = np.zeros(len(eligible), dtype=bool)
    chosen[rng.choice(candidates, k, replace=False) if len(candidates) else []] = True
    return chosen


def _generate_customers(rng: np.random.Generator, spec: DemoSpec) -> pl.DataFrame:
    n = spec.customers
    ctype = rng.choice(CUSTOMER_TYPES, n, p=TYPE_WEIGHTS)
    regions = list(REGIONS)
    region = rng.choice(regions, n, p=[REGION_WEIGHTS[r] for r in regions])
    loc = [REGIONS[r][int(rng.integers(len(REGIONS[r])))] for r in region]
    # Size: log-normal scale times the type's scale -> Pareto-skewed sales.
    scale = rng.lognormal(mean=0.0, sigma=0.65, size=n) * np.array([TYPE_SCALE[t] for t in ctype])
    # 75% were customers before the window; 25% start inside it; 4% are prospects only.
    existing = rng.random(n) < 0.75
    onboard_offset = np.where(
        existing,
        -rng.integers(30, 3650, n),
        rng.integers(0, max(1, spec.days - 20), n),
    )
    onboarding = [spec.start_date + timedelta(days=int(o)) for o in onboard_offset]
    is_prospect = rng.random(n) < 0.04
    terms = np.array([rng.choice(TYPE_TERMS[t]) for t in ctype])
    deposit = np.where(
        np.isin(ctype, ["distributor", "agent"]),
        np.round(scale * rng.uniform(5_000, 20_000, n), -3),
        0.0,
    )
    end = spec.days - 1
    start_day = np.maximum(onboard_offset + 7, 0)
    # orders per week: the type's rhythm, more for larger customers
    rate = np.array([TYPE_ORDERS_PER_WEEK[t] for t in ctype]) * np.minimum(
        3.0, 0.6 + 0.25 * np.sqrt(scale)
    )
    volume = rate * np.array([TYPE_LINES[t] for t in ctype]) * (1 + 2 * scale)
    # Churners order at least about twice a month, then stop for good 100-400 days before
    # the end (a churn closer to the end would not show yet).
    lo, hi = np.maximum(start_day + 120, end - 400), end - 100
    churner = ~is_prospect & (lo <= hi) & (rate >= 0.46) & (rng.random(n) < CHURN_SHARE)
    span = np.maximum(hi - lo + 1, 1)
    churn_day = np.where(churner, lo + (rng.random(n) * span).astype(np.int64), spec.days + 1)
    # Payment behaviour; deteriorating and stopped payers are established and keep ordering.
    payer = rng.choice(
        ["steady", "punctual", "late", "chronic"], n, p=[0.58, 0.125, 0.22, 0.075]
    ).astype(object)
    settled = ~is_prospect & ~churner & (start_day <= end - 250)
    u = rng.random(n)
    payer[settled & (u < DETERIORATING_SHARE)] = "deteriorating"
    stopped = (u >= DETERIORATING_SHARE) & (u < DETERIORATING_SHARE + STOPPED_SHARE)
    payer[settled & stopped] = "defaulter"
    # Chronic and some late payers leave a few invoices unpaid (disputed: bad-debt risk).
    disputes = (payer == "chronic") | ((payer == "late") & (rng.random(n) < 0.25))
    # Growers: larger established customers whose ordering rises through the last year.
    larger = volume >= np.quantile(volume, 0.55)
    can_grow = settled & (start_day <= end - 400) & larger & ~disputes
    can_grow &= np.isin(payer, ["steady", "punctual", "late"])
    growth = np.where(can_grow & (rng.random(n) < GROWER_SHARE), rng.uniform(1.5, 2.5, n), 0.0)
    # bounced bills, stockouts and lean stock are drawn as a share of those eligible (at
    # least one), so that a small demo has them too
    bounce = _pick(
        rng, ~is_prospect & ~churner & ~np.isin(payer, ["steady", "defaulter"]), BOUNCE_SHARE
    )
    large_key_account = (ctype == "key_account") & (scale >= TYPE_SCALE["key_account"])
    stockout = _pick(rng, large_key_account & ~is_prospect & ~churner, STOCKOUT_SHARE)
    lean = _pick(rng, np.isin(ctype, ["distributor", "key_account"]) & ~is_prospect, LEAN_SHARE)
    reviewed = ~is_prospect & (volume >= np.quantile(volume, 1 - REVIEWED_SHARE))
    reviewed = (reviewed & (rng.random(n) < 0.9)) | (payer == "deteriorating")
    cover = rng.uniform(25, 45, n)  # median days of cover the customer holds
    stems = np.char.add(
        np.array([r[1] for r in loc]),
        np.char.add(rng.choice(SHOP_WORDS, n), rng.choice(SHOP_WORDS, n)),
    )
    suffixes = np.array([SUFFIX_BY_TYPE[t] for t in ctype])
    # two companies of one city do not register the same name: a repeat gets a numeral
    repeat = (
        pl.DataFrame({"name": np.char.add(stems, suffixes)})
        .select(pl.int_range(pl.len()).over("name"))
        .to_series()
        .to_numpy()
    )
    numerals = np.array(["", "二", "三", "四", "五", "六", "七", "八", "九"])
    names = np.char.add(np.char.add(stems, numerals[np.minimum(repeat, 8)]), suffixes)
    phone = [
        f"1{int(a)}{int(b):09d}"
        for a, b in zip(rng.integers(3, 10, n), rng.integers(0, 10**9, n), strict=True)
    ]
    address = [
        f"{'' if p == c else p + '省'}{c}市{rng.choice(SHOP_WORDS)}{rng.choice(SHOP_WORDS)}路{int(k)}号"
        for (p, c), k in zip(loc, rng.integers(1, 999, n), strict=True)
    ]
    return pl.DataFrame(
        {
            "customer_id": [f"{i:06d}" for i in range(1, n + 1)],
            "customer_name": names,
            "customer_type": ctype,
            "region": region,
            "province": [p for p, _ in loc],
            "city": [c for _, c in loc],
            "sales_rep_id": [f"R{int(r):03d}" for r in rng.integers(1, 61, n)],
            "onboarding_date": onboarding,
            "payment_terms_days": terms.astype(np.int64),
            "deposit_amount": deposit,
            "contact_name": _person(rng, n),
            "phone": phone,
            "address": address,
            "legal_representative": _person(rng, n),
            # generator-only attributes (not written)
            "_scale": scale,
            "_prospect": is_prospect,
            "_churn_day": churn_day,
            "_start_day": start_day,
            "_payer": payer.astype(str),
            "_disputes": disputes,
            "_rate": rate,
            "_volume": volume,
            "_growth": growth,
            "_bounce": bounce,
            "_stockout": stockout,
            "_reviewed": reviewed,
            "_lean": lean,
            "_cover": cover,
        }
    )


def _season_weights(spec: DemoSpec) -> np.ndarray:
    days = [spec.start_date + timedelta(days=i) for i in range(spec.days)]
    w = np.ones(spec.days)
    for i, d in enumerate(days):
        for f in FESTIVALS:
            gap = (f - d).days
            if 0 < gap <= 21:
                w[i] *= 1.9 if f.month <= 2 else 1.5
            elif -7 <= gap <= 0 and f.month <= 2:
                w[i] *= 0.35  # the Spring Festival holiday itself is quiet
        if d.weekday() == 6:
            w[i] *= 0.3
    return w


def _generate_sales(
    rng: np.random.Generator,
    spec: DemoSpec,
    customers: pl.DataFrame,
    products: pl.DataFrame,
    season: np.ndarray,
    order_seq: int,
) -> tuple[pl.DataFrame, int]:
    """Order lines of a block of customers, sorted by day and order; order numbers go on from
    `order_seq`. Also returns the last order number used."""
    day_weekday = np.array(
        [(spec.start_date + timedelta(days=i)).weekday() for i in range(spec.days)]
    )
    launch_day = np.array([(d - spec.start_date).days for d in products["launch_date"]])
    prod_cat = products["category"].to_numpy()
    tiers = list(PRICE_TIERS)
    prod_tier = np.array([tiers.index(t) for t in products["price_tier"]], dtype=np.int64)
    list_price = products["list_price"].to_numpy()
    unit_cost = products["unit_cost"].to_numpy()
    popularity = products["_popularity"].to_numpy()
    cats = list(CATEGORIES)
    grow_from = spec.days - 365  # growers' ordering rises through the last year

    # per line: the customer's row in the block, its day, order number, product and quantity
    empty = np.zeros(0, dtype=np.int64)
    line_cust, line_day, line_order, line_prod, line_qty = ([empty] for _ in range(5))
    buyers = customers.with_row_index("_row").filter(~pl.col("_prospect"))
    for row in buyers.iter_rows(named=True):
        t = row["customer_type"]
        first, last = row["_start_day"], min(row["_churn_day"], spec.days - 1)
        if first > last:
            continue
        # Ordering rhythm: a preferred weekday, weighted by season (and a grower's rise).
        pref = rng.integers(0, 6)
        span = np.arange(first, last + 1)
        w = season[first : last + 1] * np.where(day_weekday[first : last + 1] == pref, 3.0, 0.6)
        scale_of_day = 1 + row["_growth"] * np.clip((span - grow_from) / 365, 0, 1)
        w = w * scale_of_day
        n_orders = rng.poisson(row["_rate"] * scale_of_day.sum() / 7)
        if n_orders == 0:
            continue
        days = np.sort(rng.choice(span, size=n_orders, p=w / w.sum()))
        # Product preference: the SKUs' popularity, a dominant category and a price-tier mix
        # (development class).
        fav = rng.choice(cats)
        tier_mix = rng.dirichlet([4, 3, 1] if t in ("end_customer", "retailer") else [2, 3, 2])
        pw = np.where(prod_cat == fav, 4.0, 1.0) * tier_mix[prod_tier] * popularity + 1e-4
        n_lines = 1 + rng.poisson(TYPE_LINES[t] - 1, n_orders)
        days_per_line = np.repeat(days, n_lines)
        chosen = rng.choice(len(pw), size=len(days_per_line), p=pw / pw.sum())
        # A product can only be ordered once it is launched; drop such draws.
        keep = launch_day[chosen] <= days_per_line
        orders_of_line = np.repeat(np.arange(order_seq + 1, order_seq + n_orders + 1), n_lines)
        order_seq += n_orders
        line_cust.append(np.full(keep.sum(), row["_row"]))
        line_day.append(days_per_line[keep])
        line_order.append(orders_of_line[keep])
        line_prod.append(chosen[keep])
        line_qty.append(1 + rng.poisson(2.0 * row["_scale"], keep.sum()))

    cust = np.concatenate(line_cust).astype(np.int64)
    prod = np.concatenate(line_prod).astype(np.int64)
    qty = np.concatenate(line_qty).astype(np.int64)
    n = len(prod)
    disc = np.array([TYPE_PRICE_DISCOUNT[t] for t in customers["customer_type"]], dtype=float)
    # Returns: 1.5% of lines come back a few days later as a negative line of their own order.
    is_return = rng.random(n) < 0.015
    qty = np.where(is_return, -np.maximum(1, qty // 3), qty)
    unit_price = np.round(list_price[prod] * (1 - disc[cust]), 2)
    gross = np.round(qty * unit_price, 2)
    promo = (rng.random(n) < 0.09) & ~is_return
    discount = np.where(promo, np.round(gross * rng.uniform(0.04, 0.15, n), 2), 0.0)
    net = np.round(gross - discount, 2)
    cost = np.round(qty * unit_cost[prod], 2)
    promo_no = rng.integers(1, 40, n)

    frame = pl.DataFrame(
        {
            "_order_seq": np.concatenate(line_order).astype(np.int64),
            "_day": np.concatenate(line_day).astype(np.int64),
            "customer_id": customers["customer_id"].gather(cust),
            "product_id": products["product_id"].gather(prod),
            "quantity": qty,
            "unit_price": unit_price,
            "discount_amount": discount,
            "net_amount": net,
            "cost_amount": cost,
            "sales_rep_id": customers["sales_rep_id"].gather(cust),
            "promotion_id": pl.Series(promo_no).cast(pl.String).str.zfill(3),
            "_promo": promo,
        }
    ).with_columns(
        promotion_id=pl.when(pl.col("_promo")).then(pl.lit("PROMO") + pl.col("promotion_id"))
    )
    sales = (
        frame.unique(["_order_seq", "product_id"], keep="first", maintain_order=True)
        .with_columns(
            order_date=pl.lit(spec.start_date) + pl.duration(days=pl.col("_day")),
            line_no=pl.int_range(1, pl.len() + 1).over("_order_seq"),
        )
        .with_columns(
            order_id=pl.lit("SO")
            + pl.col("order_date").dt.strftime("%Y%m%d")
            + pl.col("_order_seq").cast(pl.String).str.zfill(7),
        )
        .select(
            "order_id",
            "line_no",
            "order_date",
            "customer_id",
            "product_id",
            "quantity",
            "unit_price",
            "discount_amount",
            "net_amount",
            "cost_amount",
            "sales_rep_id",
            "promotion_id",
            "_day",
            "_order_seq",
        )
        .sort("_day", "_order_seq", "line_no")
    )
    return sales, order_seq


# Payment documents of an order are keyed order position * DOC_SLOTS + slot, which orders them
# the way they arise: invoice, extension, credit note, receipt, second receipt or reversal,
# receipt after a reversal.
DOC_SLOTS = 8
DOC_PREFIX = {
    "invoice": "INV",
    "receipt": "RC",
    "credit_note": "CN",
    "reversal": "RV",
    "extension": "EX",
}
PAYERS = ["punctual", "late", "chronic", "defaulter", "steady", "deteriorating"]
PUNCTUAL, LATE, CHRONIC, DEFAULTER, STEADY, DETERIORATING = range(len(PAYERS))
# Days paid after the due date (before it, for punctual and steady payers), drawn from
# [low, high); deteriorating payers pay later on invoices due in the last two quarters.
PAYER_DELAY = {
    "punctual": (0, 6),
    "late": (3, 40),
    "chronic": (30, 150),
    "defaulter": (20, 90),
    "steady": (0, 6),
    "deteriorating": (-3, 6),
}
DETERIORATING_DELAY = ((182, 91, (20, 41)), (91, 0, (45, 91)))  # (due from, to days before end)
# Stopped payers pay nothing for the invoices of the last STOPPED_DAYS days (or more, so
# that even on 90-day terms some are more than 60 days past due at the end).
STOPPED_DAYS = 150
# of the invoices of customers disputing some (chronic and a quarter of late payers): never
# paid (bad-debt risk)
DISPUTED_SHARE = 0.04
METHODS = ["bank_transfer", "bank_acceptance_bill", "commercial_bill", "cash", "check"]
METHOD_P = [0.70, 0.12, 0.05, 0.08, 0.05]
BOUNCING = ["bank_acceptance_bill", "commercial_bill", "check"]


def _docs(
    doc_type: str,
    order: np.ndarray,
    key: np.ndarray,
    day: np.ndarray,
    amount: np.ndarray,
    due: np.ndarray | None = None,
    method: np.ndarray | str | None = None,
    ref: np.ndarray | None = None,
) -> pl.DataFrame:
    """Payment documents of one kind; `ref` holds the keys of the documents referenced."""
    frame = pl.DataFrame(
        {"_key": key, "_order": order, "_day": day, "amount": amount},
        schema={"_key": pl.Int64, "_order": pl.Int64, "_day": pl.Int64, "amount": pl.Float64},
    )
    return frame.with_columns(
        doc_type=pl.lit(doc_type),
        _due_day=pl.lit(None, pl.Int64) if due is None else pl.Series(due, dtype=pl.Int64),
        method=pl.Series(method, dtype=pl.String)
        if isinstance(method, np.ndarray)
        else pl.lit(method, pl.String),
        _ref=pl.lit(None, pl.Int64) if ref is None else pl.Series(ref, dtype=pl.Int64),
    ).select("_key", "_order", "doc_type", "_day", "_due_day", "amount", "method", "_ref")


def _lump_receipts(
    rng: np.random.Generator,
    customer: np.ndarray,
    order: np.ndarray,
    pay_day: np.ndarray,
    amount: np.ndarray,
    n_orders: int,
) -> pl.DataFrame:
    """Unreferenced receipts for invoices paid in a lump with others: what a customer has pending
    is settled at random, at least a month after the first pending payment day; a last lump
    covers what is still pending at the end."""
    settle = rng.random(len(order)) < 0.35
    pending: dict[str, tuple[float, int, int]] = {}  # customer: amount, first pay day, order
    out_order, out_key, out_day, out_amount = [], [], [], []
    for cust, o, day, a, s in zip(
        customer.tolist(),
        order.tolist(),
        pay_day.tolist(),
        amount.tolist(),
        settle.tolist(),
        strict=True,
    ):
        total, first, _ = pending.get(cust, (0.0, day, o))
        total = round(total + a, 2)
        if s or day - first >= 30:
            pending.pop(cust, None)
            out_order.append(o)
            out_key.append(o * DOC_SLOTS + 3)
            out_day.append(max(day, first))
            out_amount.append(total)
        else:
            pending[cust] = (total, first, o)
    for i, (total, first, o) in enumerate(pending.values()):
        out_order.append(o)
        out_key.append((n_orders + i) * DOC_SLOTS + 3)
        out_day.append(first + 30)
        out_amount.append(total)
    return _docs(
        "receipt",
        np.array(out_order, dtype=np.int64),
        np.array(out_key, dtype=np.int64),
        np.array(out_day, dtype=np.int64),
        np.array(out_amount, dtype=float),
        method="bank_transfer",
    )


def _generate_payments(
    rng: np.random.Generator,
    spec: DemoSpec,
    customers: pl.DataFrame,
    sales: pl.DataFrame,
    seq: dict[str, int],
) -> pl.DataFrame:
    """Invoices per order, then receipts, credit notes, reversals and extensions, for a block
    of customers. Document numbers go on from `seq` (last number per doc_type), which is
    advanced."""
    end = spec.days - 1
    orders = (
        sales.group_by("_order_seq", "customer_id", "_day")
        .agg(pl.col("net_amount").sum().round(2).alias("amount"))
        .join(
            customers.select("customer_id", "payment_terms_days", "_payer", "_disputes", "_bounce"),
            on="customer_id",
        )
        .sort("_day", "_order_seq")
    )
    day = orders["_day"].to_numpy()
    amount = orders["amount"].to_numpy()
    credit = amount <= 0
    o = np.flatnonzero(credit)  # a return-only order becomes an unreferenced credit note
    parts = [_docs("credit_note", o, o * DOC_SLOTS + 2, day[o], 0.0 - amount[o])]

    o = np.flatnonzero(~credit)  # every other order is invoiced
    n = len(o)
    d, a = day[o], amount[o]
    terms = orders["payment_terms_days"].to_numpy()[o]
    payer = (
        orders["_payer"]
        .replace_strict({p: i for i, p in enumerate(PAYERS)}, return_dtype=pl.Int64)
        .to_numpy()[o]
    )
    due = d + terms
    inv = o * DOC_SLOTS
    parts.append(_docs("invoice", o, inv, d, a, due=due))
    low = np.array([PAYER_DELAY[p][0] for p in PAYERS])[payer]
    high = np.array([PAYER_DELAY[p][1] for p in PAYERS])[payer]
    delay = rng.integers(low, high)
    early = np.isin(payer, [PUNCTUAL, STEADY])
    pay = np.where(early, np.where(terms > 0, due - delay, d), due + delay)
    # deteriorating payers: later and later on the invoices due in the last two quarters
    for since, until, (late_low, late_high) in DETERIORATING_DELAY:
        later = due + rng.integers(late_low, late_high, n)
        period = (payer == DETERIORATING) & (due >= end - since) & (due < end - until)
        pay = np.where(period, later, pay)
    # stopped payers paid late, then pay nothing for the invoices of the last months; a few
    # invoices of chronic and some late payers are never paid
    stopped = (payer == DEFAULTER) & (d >= end - np.maximum(STOPPED_DAYS, terms + 90))
    disputes = orders["_disputes"].to_numpy()[o]
    disputed = disputes & (rng.random(n) < DISPUTED_SHARE)
    pay = np.where(stopped | disputed, end + 1, pay)
    # late and chronic payers sometimes get an extension, and pay by its new due date
    x = np.flatnonzero(np.isin(payer, [LATE, CHRONIC]) & (rng.random(n) < 0.06) & (due <= end))
    ext_day = np.maximum(d[x], due[x] - rng.integers(0, 5, len(x)))
    new_due = due[x] + rng.choice([15, 30, 45], len(x))
    parts.append(
        _docs("extension", o[x], inv[x] + 1, ext_day, np.zeros(len(x)), due=new_due, ref=inv[x])
    )
    pay[x] = np.maximum(pay[x], new_due - rng.integers(0, 10, len(x)))
    # rebate credit note against the invoice
    x = np.flatnonzero(rng.random(n) < 0.01)
    rebate_day = d[x] + rng.integers(5, 30, len(x))
    parts.append(
        _docs("credit_note", o[x], inv[x] + 2, rebate_day, np.round(a[x] * 0.02, 2), ref=inv[x])
    )
    pay = np.maximum(pay, d)
    r = rng.random(n)
    # steady and deteriorating payers pay each invoice in one receipt, and so are the
    # invoices never paid; customers disputing some pay invoice by invoice (a lump would
    # settle the oldest, disputed ones first)
    clean = np.isin(payer, [STEADY, DETERIORATING])
    r = np.where(clean | stopped | disputed, 1.0, r)
    r = np.where(disputes & (r >= 0.05) & (r < 0.15), 1.0, r)

    x = np.flatnonzero(r < 0.05)  # partial payment in two receipts
    first = np.round(a[x] * rng.uniform(0.3, 0.7, len(x)), 2)
    method = rng.choice(METHODS, len(x), p=METHOD_P)
    parts.append(_docs("receipt", o[x], inv[x] + 3, pay[x], first, method=method, ref=inv[x]))
    later = pay[x] + rng.integers(10, 40, len(x))
    method = rng.choice(METHODS, len(x), p=METHOD_P)
    rest = np.round(a[x] - first, 2)
    parts.append(_docs("receipt", o[x], inv[x] + 4, later, rest, method=method, ref=inv[x]))

    x = np.flatnonzero((r >= 0.05) & (r < 0.15))  # paid in a lump, without a reference
    cust = orders["customer_id"].to_numpy()[o[x]]
    parts.append(_lump_receipts(rng, cust, o[x], pay[x], a[x], orders.height))

    x = np.flatnonzero(r >= 0.15)  # paid in full; steady payers by bank transfer
    method = np.where(
        payer[x] == STEADY, "bank_transfer", rng.choice(METHODS, len(x), p=METHOD_P)
    ).astype(object)
    # a few bills and cheques bounce: reversed, then paid again by transfer
    bounced = np.isin(method, BOUNCING) & (rng.random(len(x)) < RANDOM_BOUNCE) & ~clean[x]
    # planted: one bill of each bouncing customer bounces in the last 90 days
    planted = orders["_bounce"].to_numpy()[o[x]] & (pay[x] >= end - 80) & (pay[x] <= end - 25)
    planted &= ~(stopped | disputed)[x]
    candidates = pl.DataFrame(
        {
            "at": np.flatnonzero(planted),
            "customer_id": orders["customer_id"].to_numpy()[o[x[planted]]],
            "key": rng.random(int(planted.sum())),
        }
    )
    at = (
        candidates.sort("key", maintain_order=True)
        .unique("customer_id", keep="first", maintain_order=True)["at"]
        .to_numpy()
    )
    method[at] = rng.choice(BOUNCING, len(at))
    bounced[at] = True
    method = method.astype(str)
    parts.append(_docs("receipt", o[x], inv[x] + 3, pay[x], a[x], method=method, ref=inv[x]))
    x, method = x[bounced], method[bounced]
    bounce = pay[x] + rng.integers(5, 20, len(x))
    parts.append(_docs("reversal", o[x], inv[x] + 4, bounce, a[x], method=method, ref=inv[x] + 3))
    again = bounce + rng.integers(7, 45, len(x))
    parts.append(
        _docs("receipt", o[x], inv[x] + 5, again, a[x], method="bank_transfer", ref=inv[x])
    )

    # Number what is dated by the end, in the order it arose. A document is never dated before
    # the one it references, so every reference is kept.
    docs = (
        pl.concat(parts)
        .filter(pl.col("_day") <= end)
        .sort("_key")
        .with_columns(
            doc_id=pl.col("doc_type").replace_strict(DOC_PREFIX)
            + (
                pl.int_range(1, pl.len() + 1).over("doc_type")
                + pl.col("doc_type").replace_strict(seq, return_dtype=pl.Int64)
            )
            .cast(pl.String)
            .str.zfill(8)
        )
    )
    for doc_type, count in docs["doc_type"].value_counts().iter_rows():
        seq[doc_type] += count
    docs = docs.join(docs.select(_ref="_key", reference_doc_id="doc_id"), on="_ref", how="left")
    start = pl.lit(spec.start_date)
    return (
        docs.with_columns(
            customer_id=orders["customer_id"].gather(docs["_order"]),
            doc_date=start + pl.duration(days=pl.col("_day")),
            due_date=start + pl.duration(days=pl.col("_due_day")),
            amount=pl.col("amount").round(2),
            status=pl.lit("posted"),
        )
        .select(
            "doc_id",
            "doc_type",
            "customer_id",
            "doc_date",
            "due_date",
            "amount",
            "method",
            "reference_doc_id",
            "status",
            "_day",
        )
        .sort("_day", "doc_id")
    )


def _snapshot_days(spec: DemoSpec) -> list[int]:
    """Days of the stock snapshots: every month end in the window, and the last day."""
    return [
        i
        for i in range(spec.days)
        if (spec.start_date + timedelta(days=i + 1)).day == 1 or i == spec.days - 1
    ]


def _channel_inventory(
    rng: np.random.Generator, spec: DemoSpec, customers: pl.DataFrame, sales: pl.DataFrame
) -> pl.DataFrame:
    """Channel stock of the distributors and key accounts of a block of customers on each
    snapshot day: for every product bought in the 28 days up to it, about 15-90 days of that
    sell-in (a lean stocker's line sometimes less than 14). A product out of stock has no
    line, as ERPs export it: on the last day, each planted stockout customer has none for one
    to three products it bought in those 28 days."""
    holders = customers.filter(pl.col("customer_type").is_in(["distributor", "key_account"]))
    bought = sales.filter(
        pl.col("customer_id").is_in(holders["customer_id"].implode()), pl.col("quantity") > 0
    ).select("customer_id", "product_id", "_day", "quantity", "net_amount")
    end = spec.days - 1
    windows = [
        bought.filter(pl.col("_day") > day - 28, pl.col("_day") <= day)
        .group_by("customer_id", "product_id")
        .agg(pl.col("quantity").sum().alias("sold"), pl.col("net_amount").sum().alias("_value"))
        .with_columns(_snap=pl.lit(day, pl.Int64))
        for day in _snapshot_days(spec)
    ]
    lines = (
        pl.concat(windows)
        .join(holders.select("customer_id", "_lean", "_cover", "_stockout"), on="customer_id")
        .sort("_snap", "customer_id", "product_id")
    )
    n = lines.height
    days_of_cover = np.clip(lines["_cover"].to_numpy() * rng.lognormal(0, 0.25, n), 15, 90)
    short = lines["_lean"].to_numpy() & (rng.random(n) < 0.12)
    days_of_cover = np.where(short, rng.uniform(3, 13, n), days_of_cover)
    stock = lines["sold"].to_numpy() * days_of_cover / 28
    # at least the days wanted (at least one unit); a short line near what it is short of
    stock = np.where(short, np.maximum(1, np.round(stock)), np.ceil(stock))
    # planted stockouts: on the last snapshot, one to three bought products have no line
    last = lines["_snap"].to_numpy() == end
    # the products that run out are among the customer's faster movers, and worth noticing
    # (at least STOCKOUT_MIN_SELL_IN_CNY of sell-in in the 28 days)
    fast = lines.select(
        (pl.col("sold") >= pl.col("sold").median().over("_snap", "customer_id"))
        & (pl.col("_value") >= STOCKOUT_MIN_SELL_IN_CNY)
    )
    candidate = last & lines["_stockout"].to_numpy() & fast.to_series().to_numpy()
    out = pl.DataFrame(
        {
            "row": np.flatnonzero(candidate),
            "customer_id": lines["customer_id"].filter(pl.Series(candidate)),
            "key": rng.random(int(candidate.sum())),
        }
    )
    holding = out["customer_id"].unique(maintain_order=True)
    wanted = pl.DataFrame({"customer_id": holding, "wanted": rng.integers(1, 4, holding.len())})
    dropped = (
        out.join(wanted, on="customer_id", maintain_order="left")
        .filter(
            pl.col("key").rank("ordinal").over("customer_id")
            <= pl.min_horizontal("wanted", pl.len().over("customer_id") - 1)
        )["row"]
        .to_numpy()
    )
    keep = np.ones(n, dtype=bool)
    keep[dropped] = False
    start = pl.lit(spec.start_date)
    return (
        lines.with_columns(quantity_on_hand=pl.Series(stock).cast(pl.Int64))
        .filter(pl.Series(keep))
        .select(
            snapshot_date=start + pl.duration(days=pl.col("_snap")),
            customer_id="customer_id",
            product_id="product_id",
            quantity_on_hand="quantity_on_hand",
        )
    )


def _dc_inventory(rng: np.random.Generator, spec: DemoSpec, products: pl.DataFrame) -> pl.DataFrame:
    """The manufacturer's DC stock of every product on each snapshot day of the window."""
    snapshots = pl.Series(
        "snapshot_date", [spec.start_date + timedelta(days=d) for d in _snapshot_days(spec)]
    )
    return (
        pl.DataFrame({"snapshot_date": snapshots})
        .join(products.select("product_id"), how="cross")
        .select(
            "snapshot_date",
            customer_id=pl.lit("DC"),
            product_id="product_id",
            quantity_on_hand=pl.Series(rng.integers(200, 5000, snapshots.len() * products.height)),
        )
        .sort("snapshot_date", "product_id")
    )


def _generate_prospects(
    rng: np.random.Generator, spec: DemoSpec, customers: pl.DataFrame
) -> pl.DataFrame:
    n = max(20, spec.customers // 5)
    regions = list(REGIONS)
    big = customers.sort("_scale", descending=True)["customer_id"].head(max(1, n // 10)).to_list()
    referred = [
        c if r < 0.12 else None for c, r in zip(rng.choice(big, n), rng.random(n), strict=True)
    ]
    names = np.char.add(
        np.char.add(rng.choice(SHOP_WORDS, n), rng.choice(SHOP_WORDS, n)), "商贸有限公司"
    ).astype(object)
    # about 5% of leads are companies already in the master, typed with a stray space
    known = customers["customer_name"].to_numpy()
    for i in rng.choice(n, size=max(1, n // 20), replace=False):
        name = str(rng.choice(known))
        names[i] = f"{name[:2]} {name[2:]}"
    return pl.DataFrame(
        {
            "prospect_id": [f"L{i:06d}" for i in range(1, n + 1)],
            "name": names,
            "customer_type": rng.choice(CUSTOMER_TYPES, n, p=TYPE_WEIGHTS),
            "region": rng.choice(regions, n, p=[REGION_WEIGHTS[r] for r in regions]),
            "lead_source": rng.choice(
                ["trade_show", "referral", "cold_call", "online", "sales_visit"], n
            ),
            "stage": rng.choice(
                ["new", "contacted", "qualified", "negotiating", "trial_order", "lost"],
                n,
                p=[0.25, 0.25, 0.18, 0.12, 0.08, 0.12],
            ),
            "expected_monthly_volume": np.round(rng.lognormal(10, 1, n), -2),
            "_contact_gap": rng.integers(0, 120, n),
            "visit_count": rng.integers(0, 12, n),
            "referred_by_customer_id": referred,
        }
    )


def _generate_complaints(
    rng: np.random.Generator, spec: DemoSpec, sales: pl.DataFrame, number: int
) -> pl.DataFrame:
    """Complaints about 0.4% of a block's orders, received a few days after the order and
    numbered on from `number`."""
    orders = (
        sales.unique("_order_seq")
        .select("customer_id", "_day", "_order_seq")
        .sort("_day", "_order_seq")
    )
    picked = orders.filter(pl.Series(rng.random(orders.height) < 0.004))
    n = picked.height
    resolve = rng.integers(1, 30, n)
    received = picked["_day"].to_numpy() + rng.integers(1, 10, n)
    resolved_day = np.where(rng.random(n) < 0.9, received + resolve, -1)
    start = pl.lit(spec.start_date)
    return (
        pl.DataFrame(
            {
                "customer_id": picked["customer_id"],
                "_day": received,
                "type": rng.choice(
                    ["product_quality", "late_delivery", "spec_mismatch", "packaging", "service"],
                    n,
                    p=[0.3, 0.3, 0.15, 0.15, 0.1],
                ),
                "severity": rng.choice([1, 2, 3], n, p=[0.6, 0.3, 0.1]),
                "_resolved_day": resolved_day,
                "_score": rng.integers(1, 6, n),
                "_scored": (resolved_day >= 0) & (rng.random(n) < 0.8),
            }
        )
        .filter(pl.col("_day") < spec.days)
        .select(
            complaint_id=pl.lit("CP")
            + (pl.int_range(1, pl.len() + 1) + number).cast(pl.String).str.zfill(7),
            customer_id="customer_id",
            _day="_day",
            received_date=start + pl.duration(days=pl.col("_day")),
            type="type",
            severity="severity",
            resolved_date=pl.when(pl.col("_resolved_day").is_between(0, spec.days - 1)).then(
                start + pl.duration(days=pl.col("_resolved_day"))
            ),
            satisfaction_score=pl.when(pl.col("_scored")).then(pl.col("_score")),
        )
        .sort("_day", "complaint_id")
    )


# Payment-record score (支付状况, 0-100) a review gives, by payment behaviour: [low, high).
PAYMENT_SCORE = {
    "steady": (85, 100),
    "punctual": (75, 93),
    "late": (58, 79),
    "chronic": (25, 51),
    "defaulter": (40, 61),  # before they stop; after: STOPPED_SCORE
    "deteriorating": (78, 93),  # before it shows; after: SLIPPING_SCORE
}
STOPPED_SCORE = (10, 31)
SLIPPING_SCORE = (35, 56)


def _generate_credit_reviews(
    rng: np.random.Generator, spec: DemoSpec, customers: pl.DataFrame
) -> pl.DataFrame:
    """Credit reviews (客户信用调查) of a block's larger customers: one in the last year
    (while the customer still orders), a few also the year before; a deteriorating payer is
    reviewed before it slips and again recently, with lower financial and payment scores.
    Scores follow each customer's payment behaviour; guarantors for a few, collateral for
    some distributors."""
    rev = customers.filter(pl.col("_reviewed"))
    n = rev.height
    end = spec.days - 1
    first_day = np.maximum(rev["_start_day"].to_numpy() + 60, 7)
    last_day = np.minimum(rev["_churn_day"].to_numpy() - 10, end)
    payer = rev["_payer"].to_numpy()
    slipping = payer == "deteriorating"
    lo = np.maximum(first_day, end - 364)
    recent = lo + (rng.random(n) * np.maximum(last_day - lo + 1, 1)).astype(np.int64)
    recent = np.where(slipping, end - rng.integers(5, 61, n), recent)
    earlier = np.where(
        slipping,
        np.maximum(end - rng.integers(200, 331, n), first_day),
        recent - rng.integers(330, 400, n),
    )
    has_recent = lo <= last_day
    has_earlier = has_recent & (earlier >= first_day) & (slipping | (rng.random(n) < 0.06))
    rows = np.concatenate([np.flatnonzero(has_earlier), np.flatnonzero(has_recent)])
    day = np.concatenate([earlier[has_earlier], recent[has_recent]])
    is_recent = np.arange(len(rows)) >= has_earlier.sum()
    m = len(rows)
    payer, scale = payer[rows], rev["_scale"].to_numpy()[rows]
    size = 6 * np.log(scale)
    low = np.array([PAYMENT_SCORE[p][0] for p in payer])
    high = np.array([PAYMENT_SCORE[p][1] for p in payer])
    payment = rng.integers(low, high)
    financial = np.round(rng.normal(70, 9, m) + size)
    operating = np.round(rng.normal(72, 8, m) + size + 8 * (rev["_growth"].to_numpy()[rows] > 0))
    # a deteriorating payer's recent review, and a stopped payer's review after it stopped
    worse = slipping[rows] & is_recent
    stopped = (payer == "defaulter") & (day >= end - STOPPED_DAYS)
    payment = np.where(worse, rng.integers(*SLIPPING_SCORE, m), payment)
    payment = np.where(stopped, rng.integers(*STOPPED_SCORE, m), payment)
    financial = np.where(slipping[rows] & ~is_recent, np.maximum(financial, 60), financial)
    financial = np.where(worse, rng.integers(35, 56, m), financial)
    financial = np.where(stopped, rng.integers(25, 46, m), financial)
    financial = np.where(payer == "chronic", financial - 10, financial)
    # guarantee and collateral are the customer's, whichever review records them
    guaranteed = rng.random(n) < np.where(
        np.isin(rev["_payer"].to_numpy(), ["late", "chronic", "defaulter"]), 0.25, 0.06
    )
    pledged = (rev["customer_type"].to_numpy() == "distributor") & (rng.random(n) < 0.5)
    pledge = np.round(rev["_scale"].to_numpy() * rng.uniform(20_000, 80_000, n), -3)
    guarantor = guaranteed[rows]
    collateral = np.where(pledged, pledge, 0.0)[rows]
    return (
        pl.DataFrame(
            {
                "customer_id": rev["customer_id"].gather(rows),
                "_day": day.astype(np.int64),
                "operating_score": np.clip(operating, 0, 100).astype(np.int64),
                "financial_score": np.clip(financial, 0, 100).astype(np.int64),
                "payment_score": np.clip(payment, 0, 100).astype(np.int64),
                "has_guarantor": np.where(guarantor, "true", "false"),
                "collateral_amount": collateral,
                "reviewer_id": [f"CR{int(r):02d}" for r in rng.integers(1, 13, m)],
            }
        )
        .with_columns(review_date=pl.lit(spec.start_date) + pl.duration(days=pl.col("_day")))
        .select(
            "customer_id",
            "review_date",
            "operating_score",
            "financial_score",
            "payment_score",
            "has_guarantor",
            "collateral_amount",
            "reviewer_id",
            "_day",
        )
        .sort("_day", "customer_id")
    )


def _target_windows(spec: DemoSpec) -> list[tuple[date, int, int, float]]:
    """Per targets file (one per calendar year): its delivery date, the days [since, until) of
    the trailing year's sales it is set on, and the factor that annualises them."""
    windows = []
    for year in range(spec.start_date.year, spec.end_date.year + 1):
        delivered = max(date(year, 1, 1), spec.start_date)
        # the trailing year's sales, annualised when the history is shorter
        since = max(delivered - timedelta(days=365), spec.start_date)
        until = delivered if (delivered - since).days >= 60 else since + timedelta(days=90)
        annual = 365 / max((until - since).days, 1)
        first, stop = ((d - spec.start_date).days for d in (since, until))
        windows.append((delivered, first, stop, annual))
    return windows


def _window_sales(
    sales: pl.DataFrame, customers: pl.DataFrame, windows: list
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A block's net sales in each target window, by customer (with its region) and by
    product."""
    by_customer, by_product = [], []
    for w, (_, first, stop, _) in enumerate(windows):
        base = sales.filter(pl.col("_day") >= first, pl.col("_day") < stop)
        net = pl.col("net_amount").sum()
        by_customer.append(base.group_by("customer_id").agg(net).with_columns(_window=w))
        by_product.append(base.group_by("product_id").agg(net).with_columns(_window=w))
    regions = customers.select("customer_id", "region")
    return pl.concat(by_customer).join(regions, on="customer_id"), pl.concat(by_product)


def _month_sales(
    sales: pl.DataFrame, customers: pl.DataFrame, candidates: pl.Series
) -> dict[str, pl.DataFrame]:
    """A block's net sales per month: by region, by product, and by customer for the
    customers that may get targets (`candidates`)."""
    monthly = sales.select(
        "customer_id",
        "product_id",
        "net_amount",
        month=pl.col("order_date").dt.truncate("1mo"),
    )
    net = pl.col("net_amount").sum()
    return {
        "customer_id": monthly.filter(pl.col("customer_id").is_in(candidates.implode()))
        .group_by("customer_id", "month")
        .agg(net),
        "region": monthly.join(customers.select("customer_id", "region"), on="customer_id")
        .group_by("region", "month")
        .agg(net),
        "product_id": monthly.group_by("product_id", "month").agg(net),
    }


# Targets: the month's sales to come (or, past the end, the trailing year's monthly average)
# times TARGET_STRETCH, each row off by a log-normal factor of TARGET_NOISE, rounded.
TARGET_STRETCH = 1.03
TARGET_NOISE = 0.09


def _generate_targets(
    rng: np.random.Generator,
    spec: DemoSpec,
    windows: list,
    by_customer: pl.DataFrame,
    by_product: pl.DataFrame,
    by_month: dict[str, pl.DataFrame],
) -> dict:
    """One targets file per calendar year: region × month, the top customers × month and
    every product × month. A sales team that knows its customers sets each month's target
    around the sales that month brings (a month the window covers in part counted whole),
    each row off by a few percent, so achievement lands mostly between 80% and 120%; months
    past the end date get the trailing year's monthly average. Customers and products with
    a target: those with sales in the trailing year (or, for products, in the year)."""
    covered: dict[date, int] = {}  # first day of a month -> its days inside the window
    for d in pl.date_range(spec.start_date, spec.end_date, eager=True):
        first = d.replace(day=1)
        covered[first] = covered.get(first, 0) + 1
    whole = pl.DataFrame(
        {
            "month": list(covered),
            "_scale": [
                ((m.replace(day=28) + timedelta(days=4)).replace(day=1) - m).days / days
                for m, days in covered.items()
            ],
        }
    )
    files = {}
    for w, (delivered, _, _, annual) in enumerate(windows):
        customers = by_customer.filter(pl.col("_window") == w)
        products = by_product.filter(pl.col("_window") == w)
        months = pl.DataFrame({"month": [date(delivered.year, m, 1) for m in range(1, 13)]})
        top = (
            customers.filter(
                pl.col("customer_id").is_in(by_month["customer_id"]["customer_id"].implode())
            )
            .sort(["net_amount", "customer_id"], descending=[True, False])
            .head(max(5, spec.customers // 20))
            .select("customer_id", "net_amount")
        )
        entities = {
            "region": (customers.group_by("region").agg(pl.col("net_amount").sum()), 1000),
            "customer_id": (top, 10),
            "product_id": (
                products.join(
                    by_month["product_id"]
                    .filter(pl.col("month").dt.year() == delivered.year)
                    .select("product_id")
                    .unique(),
                    on="product_id",
                    how="full",
                    coalesce=True,
                ).with_columns(pl.col("net_amount").fill_null(0)),
                10,
            ),
        }
        parts = []
        for column, (trailing, unit) in entities.items():
            rows = (
                trailing.select(column, _trailing=pl.col("net_amount") * annual / 12)
                .join(months, how="cross")
                .join(by_month[column], on=[column, "month"], how="left")
                .join(whole, on="month", how="left")
                .with_columns(
                    _base=pl.when(pl.col("net_amount") > 0)
                    .then(pl.col("net_amount") * pl.col("_scale"))
                    .otherwise(pl.col("_trailing"))
                )
                .sort(column, "month")
            )
            noise = np.exp(rng.normal(0, TARGET_NOISE, rows.height))
            parts.append(
                rows.with_columns(
                    target_net_sales=(
                        pl.col("_base") * TARGET_STRETCH * pl.Series(noise) / unit
                    ).round(0)
                    * unit,
                    period=pl.col("month").dt.strftime("%Y-%m"),
                ).filter(pl.col("target_net_sales") > 0)
            )
        cols = ["period", "customer_id", "region", "product_id", "target_net_sales"]
        frame = pl.concat(
            [
                part.with_columns(
                    *(pl.lit(None, pl.String).alias(c) for c in cols[1:4] if c not in part.columns)
                ).select(cols)
                for part in parts
            ]
        )
        files[delivered] = frame.sort(cols[:4], nulls_last=True)
    return files


def _block_truth(
    spec: DemoSpec,
    customers: pl.DataFrame,
    sales: pl.DataFrame,
    payments: pl.DataFrame,
    inventory: pl.DataFrame,
) -> pl.DataFrame:
    """The rows of the planted truth (module docstring) for a block of customers, each kind
    checked on the block's extract rows as they are written: a customer is listed only
    where the data shows the behaviour by the end date."""
    end, start = spec.days - 1, spec.start_date

    def day_of(column: str) -> pl.Expr:
        return (pl.col(column) - pl.lit(start)).dt.total_days()

    master = customers.filter(~pl.col("_prospect")).select(
        "customer_id",
        "customer_type",
        "payment_terms_days",
        "_payer",
        "_disputes",
        _onboard=day_of("onboarding_date"),
    )
    orders = (
        sales.select("customer_id", "_day")
        .unique()
        .group_by("customer_id")
        .agg(
            first=pl.col("_day").min(),
            last=pl.col("_day").max(),
            order_days=pl.len(),
            median_gap=pl.col("_day").sort().diff().median(),
        )
        .join(
            sales.group_by("customer_id").agg(
                sales_12m=pl.col("net_amount").filter(pl.col("_day") > end - 365).sum(),
                prior_12m=pl.col("net_amount")
                .filter(pl.col("_day") > end - 730, pl.col("_day") <= end - 365)
                .sum(),
            ),
            on="customer_id",
        )
    )
    people = master.join(orders, on="customer_id")
    docs = payments.with_columns(_due=day_of("due_date"))
    invoices = docs.filter(pl.col("doc_type") == "invoice").select(
        "customer_id", invoice="doc_id", invoiced=pl.col("_day"), due="_due", owed="amount"
    )
    receipts = (
        docs.filter(pl.col("doc_type") == "receipt")
        .join(
            invoices.select("invoice", "due", "invoiced"),
            left_on="reference_doc_id",
            right_on="invoice",
            how="left",
        )
        .with_columns(late=pl.col("_day") - pl.col("due"))
    )
    paid = invoices.join(
        receipts.group_by(invoice="reference_doc_id").agg(paid=pl.col("amount").sum()),
        on="invoice",
        how="left",
    ).with_columns(unpaid=pl.col("paid").is_null())
    open_past_due = pl.col("unpaid") & (pl.col("due") < end)
    payer = pl.col("_payer")
    on_to_end = pl.col("last") >= end - 30
    established = (pl.col("_onboard") <= end - 365) & (pl.col("first") <= end - 365)

    def date_of(day: pl.Expr) -> pl.Expr:
        return (pl.lit(start) + pl.duration(days=day)).dt.strftime("%Y-%m-%d")

    def money(amount: pl.Expr) -> pl.Expr:
        return amount.round(0).cast(pl.Int64).cast(pl.String)

    kinds = []
    # steady_payer: every invoice paid in full by bank transfer by its due date (or not due yet)
    events = docs.group_by("customer_id").agg(
        irregular=pl.col("doc_type").is_in(["extension", "reversal"]).sum()
    )
    on_time = receipts.group_by("customer_id").agg(
        receipts_ok=(
            pl.col("reference_doc_id").is_not_null()
            & (pl.col("method") == "bank_transfer")
            & (pl.col("late") <= 0)
        ).all(),
        early=-pl.col("late").mean(),
    )
    in_full = paid.group_by("customer_id").agg(
        invoices=pl.len(),
        invoices_ok=(
            ((pl.col("paid") - pl.col("owed")).abs() < 0.005)
            | (pl.col("unpaid") & (pl.col("due") >= end))
        ).all(),
    )
    kinds.append(
        people.join(in_full, on="customer_id")
        .join(on_time, on="customer_id", how="left")
        .join(events, on="customer_id", how="left")
        .filter(
            established,
            on_to_end,
            pl.col("invoices_ok"),
            pl.col("receipts_ok").fill_null(True),
            pl.col("irregular").fill_null(0) == 0,
        )
        .select(
            "customer_id",
            kind=pl.lit("steady_payer"),
            detail=pl.format(
                "pays all {} invoices in full by bank transfer by the due date ({} days early "
                "on average)",
                "invoices",
                pl.col("early").fill_null(0).round(1).abs(),  # never -0.0
            ),
        )
    )
    # chronic_late_payer
    lateness = receipts.filter(pl.col("reference_doc_id").is_not_null()).group_by("customer_id")
    chronic = lateness.agg(
        paid_invoices=pl.col("reference_doc_id").n_unique(), median=pl.col("late").median()
    )
    never = paid.group_by("customer_id").agg(
        never=(pl.col("unpaid") & (pl.col("due") < end - 150)).sum()
    )
    kinds.append(
        people.filter(payer == "chronic")
        .join(chronic, on="customer_id")
        .join(never, on="customer_id", how="left")
        .filter(pl.col("paid_invoices") >= 3)
        .select(
            "customer_id",
            kind=pl.lit("chronic_late_payer"),
            detail=pl.format(
                "pays 30-150 days late: median {} days late on {} paid invoices{}",
                pl.col("median").round(0).cast(pl.Int64),
                "paid_invoices",
                pl.when(pl.col("never") > 0)
                .then(pl.format(", {} unpaid over 150 days past due", "never"))
                .otherwise(pl.lit("")),
            ),
        )
    )
    # deteriorating_payer
    turn, last_quarter = end - 182, end - 91
    slipping = (
        receipts.filter(pl.col("reference_doc_id").is_not_null())
        .group_by("customer_id")
        .agg(
            before=(pl.col("due") < turn).sum(),
            worst_before=pl.col("late").filter(pl.col("due") < turn).max(),
            after=(pl.col("due") >= turn).sum(),
            best_after=pl.col("late").filter(pl.col("due") >= turn).min(),
            mid=pl.col("late").filter(pl.col("due") >= turn, pl.col("due") < last_quarter).mean(),
        )
    )
    overdue = paid.group_by("customer_id").agg(overdue=open_past_due.sum())
    kinds.append(
        people.filter(payer == "deteriorating", on_to_end)
        .join(slipping, on="customer_id")
        .join(overdue, on="customer_id")
        .filter(
            pl.col("before") >= 3,
            pl.col("worst_before") <= 5,
            pl.col("after") >= 2,
            pl.col("best_after") >= 20,
            pl.col("overdue") >= 1,
        )
        .select(
            "customer_id",
            kind=pl.lit("deteriorating_payer"),
            detail=pl.format(
                "at most 5 days late on invoices due before {}, then {} days late on average, "
                "45-90 days late on those due since {}: {} past due and open at the end",
                date_of(pl.lit(turn)),
                pl.col("mid").fill_null(30).round(0).cast(pl.Int64),
                date_of(pl.lit(last_quarter)),
                "overdue",
            ),
        )
    )
    # bounced_bill: any reversal dated in the last 90 days
    kinds.append(
        docs.filter(pl.col("doc_type") == "reversal", pl.col("_day") > end - 90)
        .sort("_day", "doc_id")
        .group_by("customer_id")
        .agg(
            pl.col("method").last(),
            pl.col("amount").last(),
            pl.col("_day").last(),
            bounced=pl.len(),
        )
        .join(master.select("customer_id"), on="customer_id")
        .select(
            "customer_id",
            kind=pl.lit("bounced_bill"),
            detail=pl.format(
                "{} receipt of {} CNY bounced on {}{}",
                "method",
                money(pl.col("amount")),
                date_of(pl.col("_day")),
                pl.when(pl.col("bounced") > 1)
                .then(pl.format(" ({} reversals in the last 90 days)", "bounced"))
                .otherwise(pl.lit("")),
            ),
        )
    )
    # stopped_paying: nothing paid for the invoices of the last months, some > 60 days overdue
    cutoff = end - pl.max_horizontal(pl.lit(STOPPED_DAYS), pl.col("payment_terms_days") + 90)
    stopped = (
        paid.join(people.filter(payer == "defaulter", on_to_end), on="customer_id")
        .filter(pl.col("invoiced") >= cutoff)
        .group_by("customer_id")
        .agg(
            since=cutoff.first(),
            invoices=pl.len(),
            unpaid=pl.col("unpaid").all(),
            owed=pl.col("owed").sum(),
            oldest_due=pl.col("due").min(),
        )
        .filter(pl.col("unpaid"), pl.col("oldest_due") < end - 60)
    )
    kinds.append(
        stopped.select(
            "customer_id",
            kind=pl.lit("stopped_paying"),
            detail=pl.format(
                "no payment for the {} invoices since {} ({} CNY), the oldest {} days past due",
                "invoices",
                date_of(pl.col("since")),
                money(pl.col("owed")),
                end - pl.col("oldest_due"),
            ),
        )
    )
    # churner: ordered regularly, then nothing for 100-400 days (over 3x its median gap)
    per_month = (pl.col("order_days") - 1) / (pl.col("last") - pl.col("first")) * 30
    kinds.append(
        people.filter(
            pl.col("last").is_between(end - 400, end - 100),
            pl.col("order_days") >= 8,
            per_month >= 1.5,
            end - pl.col("last") > 3 * pl.col("median_gap"),
        ).select(
            "customer_id",
            kind=pl.lit("churner"),
            detail=pl.format(
                "ordered {} times a month (median gap {} days) until {}, none in the {} days since",
                per_month.round(1),
                pl.col("median_gap").round(0).cast(pl.Int64),
                date_of(pl.col("last")),
                end - pl.col("last"),
            ),
        )
    )
    # grower: 1.6x the prior year's net sales, both years inside the window
    if spec.days >= 730:
        kinds.append(
            people.filter(
                established,
                on_to_end,
                payer.is_in(["steady", "punctual", "late"]),
                ~pl.col("_disputes"),
                pl.col("prior_12m") >= 20_000,
                pl.col("sales_12m") >= 1.6 * pl.col("prior_12m"),
            ).select(
                "customer_id",
                kind=pl.lit("grower"),
                detail=pl.format(
                    "net sales {} CNY in the last 12 months against {} in the 12 before ({}x)",
                    money(pl.col("sales_12m")),
                    money(pl.col("prior_12m")),
                    (pl.col("sales_12m") / pl.col("prior_12m")).round(2),
                ),
            )
        )
    # stockout: bought in the last 28 days, no line on the key account's latest snapshot
    latest = inventory.group_by("customer_id").agg(latest=pl.col("snapshot_date").max())
    on_latest = inventory.join(latest, on="customer_id").filter(
        pl.col("snapshot_date") == pl.col("latest")
    )
    key_accounts = master.filter(pl.col("customer_type") == "key_account").select("customer_id")
    kinds.append(
        sales.filter(pl.col("_day") > end - 28, pl.col("quantity") > 0)
        .join(key_accounts, on="customer_id")
        .group_by("customer_id", "product_id")
        .agg(bought=pl.col("quantity").sum())
        .join(latest, on="customer_id")
        .join(
            on_latest.select("customer_id", "product_id"),
            on=["customer_id", "product_id"],
            how="anti",
        )
        .select(
            "customer_id",
            "product_id",
            kind=pl.lit("stockout"),
            detail=pl.format(
                "bought {} in the last 28 days, none on the {} stock snapshot",
                "bought",
                pl.col("latest").dt.strftime("%Y-%m-%d"),
            ),
        )
    )
    return pl.concat(
        [
            k.with_columns(product_id=pl.lit(None, pl.String))
            if "product_id" not in k.columns
            else k
            for k in kinds
        ],
        how="diagonal",
    ).select("kind", "customer_id", "product_id", "detail")


class _CsvSink:
    """CSV files under `out` in the spec's encoding. A file's first write in a run creates it
    with its header; later writes append rows, so files can be filled block by block."""

    def __init__(self, out: Path, encoding: str) -> None:
        self.out = out
        self.encoding = encoding
        self.utf8 = codecs.lookup(encoding).name == "utf-8"
        self.created: set[Path] = set()

    def write(self, frame: pl.DataFrame, path: str) -> None:
        """Write all rows of `frame` to one file (a header only when it has none)."""
        if frame.height:
            self.write_parts(frame, np.zeros(frame.height, dtype=np.int64), lambda _: path)
        else:
            self._put(path, frame.write_csv(**CSV_OPTIONS), b"")

    def write_parts(
        self, frame: pl.DataFrame, keys: np.ndarray, path_of: Callable[[int], str]
    ) -> None:
        """Write the rows of `frame` to one file per run of equal `keys` (sorted), at
        `path_of(key)`: the CSV text is made once and cut at line ends."""
        header = frame.head(0).write_csv(**CSV_OPTIONS)
        body = io.BytesIO()
        frame.write_csv(body, include_header=False, **CSV_OPTIONS)
        data = body.getbuffer()
        line_ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n")) + 1
        assert len(line_ends) == frame.height, "a CSV field holds a line break"
        starts = np.flatnonzero(np.diff(keys, prepend=keys[:1] - 1) != 0)
        offsets = np.concatenate([[0], line_ends])
        for first, stop in pairwise([*starts.tolist(), frame.height]):
            self._put(path_of(keys[first]), header, data[offsets[first] : offsets[stop]])

    def _put(self, name: str, header: str, rows: memoryview | bytes) -> None:
        path = self.out / name
        new = path not in self.created
        head = header.encode("utf-8")
        if not self.utf8:  # one encoder for header and rows: a byte-order mark comes only once
            encoder = codecs.getincrementalencoder(self.encoding)()
            head = encoder.encode(header)
            rows = encoder.encode(bytes(rows).decode("utf-8"))
        if new:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.created.add(path)
        with path.open("wb" if new else "ab") as f:
            if new:
                f.write(head)
            f.write(rows)


def _write_daily(
    sink: _CsvSink, frame: pl.DataFrame, extract: str, spec: DemoSpec, day_col: str = "_day"
) -> int:
    """Append a frame to the extract's daily files (one per `day_col`); returns its rows."""
    if not frame[day_col].is_sorted():
        frame = frame.sort(day_col, maintain_order=True)
    columns = [c for c in frame.columns if not c.startswith("_")]
    sink.write_parts(
        frame.select(columns),
        frame[day_col].to_numpy(),
        lambda day: file_name_for(extract, spec.start_date + timedelta(days=int(day))),
    )
    return frame.height


def _write_inventory(sink: _CsvSink, frame: pl.DataFrame) -> int:
    """Append month-end stock (sorted by snapshot date) to the inventory snapshot files."""
    snapshots = frame["snapshot_date"].dt.epoch("d").to_numpy()
    sink.write_parts(
        frame,
        snapshots,
        lambda day: file_name_for("inventory", date(1970, 1, 1) + timedelta(days=int(day))),
    )
    return frame.height


def _write_truth(path: Path, truth: pl.DataFrame) -> None:
    """The planted truth, one row per kind and customer (and product, for stockouts), in the
    order of TRUTH_KINDS, as UTF-8 CSV."""
    order = {k: i for i, k in enumerate(TRUTH_KINDS)}
    path.parent.mkdir(parents=True, exist_ok=True)
    truth.sort(
        pl.col("kind").replace_strict(order, return_dtype=pl.Int64),
        "customer_id",
        "product_id",
        nulls_last=False,
    ).write_csv(path, null_value="")


def _block_size(spec: DemoSpec) -> int:
    """Customers per block: about BLOCK_CUSTOMER_DAYS customer-days, at most
    MAX_BLOCK_CUSTOMERS customers."""
    return max(1, min(MAX_BLOCK_CUSTOMERS, BLOCK_CUSTOMER_DAYS // spec.days))


def truth_path_for(out: Path) -> Path:
    """Where the planted truth of a landing folder goes by default: beside it, never inside
    (`landing/` -> `landing_truth.csv`)."""
    out = Path(out).resolve()
    return out.parent / f"{out.name}_truth.csv"


def generate(out: Path, spec: DemoSpec, truth_path: Path | None = None) -> dict[str, int]:
    """Write a full demo extract set under `out`, and the planted truth (module docstring)
    to `truth_path` (default: truth_path_for(out)), which must lie outside `out`; returns
    rows written per extract.

    Master data is generated first; then customers are processed in blocks, each block's sales,
    payments, complaints, channel stock, credit reviews and truth appended to their files, so
    memory stays bounded whatever the size. Targets are set at the end from per-block sums."""
    out = Path(out)
    truth_path = Path(truth_path) if truth_path is not None else truth_path_for(out)
    if truth_path.resolve().is_relative_to(out.resolve()):
        raise ValueError(
            f"the truth file {truth_path} must not be inside the landing folder {out}: "
            "it would be delivered with the extracts"
        )
    rng = np.random.default_rng(spec.seed)
    products = _generate_products(rng, spec)
    customers = _generate_customers(rng, spec)
    prospects = _generate_prospects(rng, spec, customers)
    season = _season_weights(spec)
    windows = _target_windows(spec)
    # customers that may get targets: the largest (those with the largest sales get them)
    candidates = customers.sort(["_volume", "customer_id"], descending=[True, False]).head(
        3 * max(5, spec.customers // 20)
    )["customer_id"]

    sink = _CsvSink(out, spec.encoding)
    counts = dict.fromkeys(["sales", "payments", "inventory", "complaints", "credit_reviews"], 0)
    order_seq, complaint_no = 0, 0
    doc_seq = dict.fromkeys(DOC_PREFIX, 0)
    by_customer, by_product, truth = [], [], []
    by_month: dict[str, list[pl.DataFrame]] = {"customer_id": [], "region": [], "product_id": []}
    last_order = np.full(customers.height, -1, dtype=np.int64)
    block = _block_size(spec)
    for first in range(0, customers.height, block):
        part = customers.slice(first, block)
        sales, order_seq = _generate_sales(rng, spec, part, products, season, order_seq)
        payments = _generate_payments(rng, spec, part, sales, doc_seq)
        complaints = _generate_complaints(rng, spec, sales, complaint_no)
        complaint_no += complaints.height
        inventory = _channel_inventory(rng, spec, part, sales)
        reviews = _generate_credit_reviews(rng, spec, part)
        sums = _window_sales(sales, part, windows)
        by_customer.append(sums[0])
        by_product.append(sums[1])
        for key, frame in _month_sales(sales, part, candidates).items():
            by_month[key].append(frame)
        truth.append(_block_truth(spec, part, sales, payments, inventory))
        last = sales.group_by("customer_id").agg(pl.col("_day").max())
        last_order[last["customer_id"].cast(pl.Int64).to_numpy() - 1] = last["_day"].to_numpy()
        counts["sales"] += _write_daily(sink, sales, "sales", spec)
        counts["payments"] += _write_daily(sink, payments, "payments", spec)
        counts["complaints"] += _write_daily(sink, complaints, "complaints", spec)
        counts["credit_reviews"] += _write_daily(sink, reviews, "credit_reviews", spec)
        counts["inventory"] += _write_inventory(sink, inventory)
        del sales, payments, complaints, inventory, reviews
    # the DC sorts after every customer id, so appending it keeps snapshots sorted
    counts["inventory"] += _write_inventory(sink, _dc_inventory(rng, spec, products))
    _write_truth(truth_path, pl.concat(truth))

    # a churned customer is closed 90 days after its last order
    churned = customers["_churn_day"].to_numpy() <= spec.days
    closed_from = np.where(
        churned, np.where(last_order >= 0, last_order, customers["_churn_day"].to_numpy()), 10**9
    )
    customers = customers.with_columns(_closed_from=pl.Series(closed_from + 90))

    # Weekly master snapshots (and on the last day): customers known by then, with status.
    snapshot_days = [
        d
        for d in range(spec.days)
        if (spec.start_date + timedelta(days=d)).weekday() == MASTER_SNAPSHOT_WEEKDAY
        or d == spec.days - 1
    ]
    cust = customers.sort("customer_id")
    customer_cols = [c for c in customers.columns if not c.startswith("_")]
    product_cols = [c for c in products.columns if not c.startswith("_")]
    for d in snapshot_days:
        snap_date = spec.start_date + timedelta(days=d)
        snap = cust.filter(pl.col("onboarding_date") <= snap_date).with_columns(
            status=pl.when(pl.col("_prospect"))
            .then(pl.lit("prospect"))
            .when(pl.col("_closed_from") < d)
            .then(pl.lit("closed"))
            .otherwise(pl.lit("active"))
        )
        cols = customer_cols[:3] + ["status"] + customer_cols[3:]
        sink.write(snap.select(cols), file_name_for("customers", snap_date))
        prods = products.filter(pl.col("launch_date") <= snap_date).select(product_cols)
        sink.write(prods, file_name_for("products", snap_date))
    counts["customers"] = cust.height
    counts["products"] = products.height

    # Monthly prospect snapshots on the first day of each month (and the last day).
    prospect_days = [
        d
        for d in range(spec.days)
        if (spec.start_date + timedelta(days=d)).day == 1 or d == spec.days - 1
    ]
    prospect_cols = [c for c in prospects.columns if not c.startswith("_")]
    for d in prospect_days:
        snap_date = spec.start_date + timedelta(days=d)
        snap = prospects.with_columns(
            last_contact_date=pl.lit(snap_date) - pl.duration(days=pl.col("_contact_gap"))
        )
        sink.write(
            snap.select(prospect_cols[:7] + ["last_contact_date"] + prospect_cols[7:]),
            file_name_for("prospects", snap_date),
        )
    counts["prospects"] = prospects.height

    monthly = {
        key: pl.concat(frames).group_by(key, "month").agg(pl.col("net_amount").sum())
        for key, frames in by_month.items()
    }
    targets = _generate_targets(
        rng, spec, windows, pl.concat(by_customer), pl.concat(by_product), monthly
    )
    for delivered, frame in targets.items():
        sink.write(frame, file_name_for("targets", delivered))
    counts["targets"] = sum(f.height for f in targets.values())
    return counts
