"""Deterministic demo extracts for a Chinese food manufacturer (SPEC §2 file names and columns).

The data is shaped like the real thing so every analysis can be judged on it: customer sizes
are log-normal (the top 20% of customers buy about three quarters of sales), customers order
on their own weekday rhythm, Spring Festival and Mid-Autumn lift demand, some customers churn
and new ones start, distributors and key accounts report channel stock monthly, and payers
range from punctual to chronically late, with partial and unreferenced receipts, credit notes,
bounced bills and extension requests.

Master data is delivered as weekly full snapshots (every Monday and on the last day), channel
inventory as month-end snapshots, sales/payments/complaints as daily deltas, prospects as
monthly snapshots and targets once a year.

Customers are generated in blocks: each block's sales lines and what follows from them
(payments, complaints, channel stock, per-block sums for the targets) are appended to the
daily and month-end files before the next block starts, so memory stays bounded at any size.
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
        }
    )


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
    # 12% churn: their last order day falls inside the window.
    churn_day = np.where(
        rng.random(n) < 0.12, rng.integers(min(60, spec.days // 2), spec.days, n), spec.days + 1
    )
    terms = np.array([rng.choice(TYPE_TERMS[t]) for t in ctype])
    deposit = np.where(
        np.isin(ctype, ["distributor", "agent"]),
        np.round(scale * rng.uniform(5_000, 20_000, n), -3),
        0.0,
    )
    # Payment behaviour: punctual / late / chronic late / defaulter.
    payer = rng.choice(["punctual", "late", "chronic", "defaulter"], n, p=[0.70, 0.19, 0.09, 0.02])
    names = np.char.add(
        np.char.add(
            np.array([r[1] for r in loc]),
            np.char.add(rng.choice(SHOP_WORDS, n), rng.choice(SHOP_WORDS, n)),
        ),
        np.array([SUFFIX_BY_TYPE[t] for t in ctype]),
    )
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
            "_start_day": np.maximum(onboard_offset + 7, 0),
            "_payer": payer,
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
    cats = list(CATEGORIES)

    # per line: the customer's row in the block, its day, order number, product and quantity
    empty = np.zeros(0, dtype=np.int64)
    line_cust, line_day, line_order, line_prod, line_qty = ([empty] for _ in range(5))
    buyers = customers.with_row_index("_row").filter(~pl.col("_prospect"))
    for row in buyers.iter_rows(named=True):
        t = row["customer_type"]
        first, last = row["_start_day"], min(row["_churn_day"], spec.days - 1)
        if first > last:
            continue
        # Ordering rhythm: a preferred weekday, weighted by season.
        pref = rng.integers(0, 6)
        w = season[first : last + 1] * np.where(day_weekday[first : last + 1] == pref, 3.0, 0.6)
        rate = TYPE_ORDERS_PER_WEEK[t] * min(3.0, 0.6 + 0.25 * row["_scale"] ** 0.5)
        n_orders = rng.poisson(rate * (last - first + 1) / 7)
        if n_orders == 0:
            continue
        days = np.sort(rng.choice(np.arange(first, last + 1), size=n_orders, p=w / w.sum()))
        # Product preference: a dominant category and a price-tier mix (development class).
        fav = rng.choice(cats)
        tier_mix = rng.dirichlet([4, 3, 1] if t in ("end_customer", "retailer") else [2, 3, 2])
        pw = np.where(prod_cat == fav, 4.0, 1.0) * tier_mix[prod_tier] + 1e-3
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
PAYERS = ["punctual", "late", "chronic", "defaulter"]
# Days paid after the due date (before it, for punctual payers), drawn from [low, high).
PAYER_DELAY = {"punctual": (0, 6), "late": (3, 40), "chronic": (30, 150), "defaulter": (20, 90)}
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
        .join(customers.select("customer_id", "payment_terms_days", "_payer"), on="customer_id")
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
    pay = np.where(payer == 0, np.where(terms > 0, due - delay, d), due + delay)
    # defaulters pay late, then stop paying in the last months
    pay = np.where((payer == 3) & (d >= spec.days - 200), end + 1, pay)
    # late and chronic payers sometimes get an extension, and pay by its new due date
    x = np.flatnonzero(np.isin(payer, [1, 2]) & (rng.random(n) < 0.06) & (due <= end))
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

    x = np.flatnonzero(r >= 0.15)  # paid in full
    method = rng.choice(METHODS, len(x), p=METHOD_P)
    parts.append(_docs("receipt", o[x], inv[x] + 3, pay[x], a[x], method=method, ref=inv[x]))
    # some bills and cheques bounce: reversed, then paid again by transfer
    bounced = np.isin(method, BOUNCING) & (rng.random(len(x)) < 0.03)
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


def _channel_inventory(
    rng: np.random.Generator, spec: DemoSpec, customers: pl.DataFrame, sales: pl.DataFrame
) -> pl.DataFrame:
    """Month-end channel stock of the distributors and key accounts of a block of customers."""
    holders = customers.filter(pl.col("customer_type").is_in(["distributor", "key_account"]))
    monthly = (
        sales.filter(pl.col("customer_id").is_in(holders["customer_id"].implode()))
        .with_columns(month_end=pl.col("order_date").dt.month_end())
        .group_by("month_end", "customer_id", "product_id")
        .agg(pl.col("quantity").sum().alias("sold"))
        .filter(pl.col("sold") > 0, pl.col("month_end") <= spec.end_date)
        .sort("month_end", "customer_id", "product_id")
    )
    cover = rng.uniform(0.2, 1.4, monthly.height)
    return monthly.select(
        snapshot_date="month_end",
        customer_id="customer_id",
        product_id="product_id",
        quantity_on_hand=(pl.col("sold") * pl.Series(cover)).round(0).cast(pl.Int64),
    )


def _dc_inventory(rng: np.random.Generator, spec: DemoSpec, products: pl.DataFrame) -> pl.DataFrame:
    """The manufacturer's DC stock of every product at each month end of the window."""
    days = pl.date_range(spec.start_date, spec.end_date, eager=True)
    month_ends = days.dt.month_end().unique().sort()
    month_ends = month_ends.filter(month_ends <= spec.end_date)
    return (
        pl.DataFrame({"snapshot_date": month_ends})
        .join(products.select("product_id"), how="cross")
        .select(
            "snapshot_date",
            customer_id=pl.lit("DC"),
            product_id="product_id",
            quantity_on_hand=pl.Series(rng.integers(200, 5000, month_ends.len() * products.height)),
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


def _generate_targets(
    spec: DemoSpec, windows: list, by_customer: pl.DataFrame, by_product: pl.DataFrame
) -> dict:
    """One targets file per calendar year: region × month, the top customers × month and
    every product × month, set 5-10% above the trailing year's sales."""
    files = {}
    for w, (delivered, _, _, annual) in enumerate(windows):
        customers = by_customer.filter(pl.col("_window") == w)
        products = by_product.filter(pl.col("_window") == w)
        months = pl.DataFrame({"period": [f"{delivered.year}-{m:02d}" for m in range(1, 13)]})
        by_region = (
            customers.group_by("region")
            .agg(
                ((pl.col("net_amount").sum() * annual / 12 * 1.1 / 1000).round(0) * 1000).alias(
                    "target_net_sales"
                )
            )
            .join(months, how="cross")
            .with_columns(customer_id=pl.lit(None, pl.String), product_id=pl.lit(None, pl.String))
        )
        per_product = (
            products.group_by("product_id")
            .agg(
                ((pl.col("net_amount").sum() * annual / 12 * 1.05 / 100).round(0) * 100).alias(
                    "target_net_sales"
                )
            )
            .filter(pl.col("target_net_sales") > 0)
            .join(months, how="cross")
            .with_columns(customer_id=pl.lit(None, pl.String), region=pl.lit(None, pl.String))
        )
        top = (
            customers.select(
                "customer_id",
                target_net_sales=(pl.col("net_amount") * annual / 12 * 1.08 / 100).round(0) * 100,
            )
            .sort(["target_net_sales", "customer_id"], descending=[True, False])
            .head(max(5, spec.customers // 20))
            .join(months, how="cross")
            .with_columns(region=pl.lit(None, pl.String), product_id=pl.lit(None, pl.String))
        )
        cols = ["period", "customer_id", "region", "product_id", "target_net_sales"]
        parts = [by_region.select(cols), top.select(cols), per_product.select(cols)]
        files[delivered] = pl.concat(parts).sort(cols[:4], nulls_last=True)
    return files


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
        lambda day: f"{extract}/{extract}_{spec.start_date + timedelta(days=int(day)):%Y%m%d}.csv",
    )
    return frame.height


def _write_inventory(sink: _CsvSink, frame: pl.DataFrame) -> int:
    """Append month-end stock (sorted by snapshot date) to the inventory snapshot files."""
    snapshots = frame["snapshot_date"].dt.epoch("d").to_numpy()
    sink.write_parts(
        frame,
        snapshots,
        lambda day: f"inventory/inventory_{date(1970, 1, 1) + timedelta(days=int(day)):%Y%m%d}.csv",
    )
    return frame.height


def _block_size(spec: DemoSpec) -> int:
    """Customers per block: about BLOCK_CUSTOMER_DAYS customer-days, at most
    MAX_BLOCK_CUSTOMERS customers."""
    return max(1, min(MAX_BLOCK_CUSTOMERS, BLOCK_CUSTOMER_DAYS // spec.days))


def generate(out: Path, spec: DemoSpec) -> dict[str, int]:
    """Write a full demo extract set under `out`; returns rows written per extract.

    Master data is generated first; then customers are processed in blocks, each block's sales,
    payments, complaints and channel stock appended to the daily and month-end files, so memory
    stays bounded whatever the size. Targets are set at the end from per-block sums."""
    rng = np.random.default_rng(spec.seed)
    products = _generate_products(rng, spec)
    customers = _generate_customers(rng, spec)
    prospects = _generate_prospects(rng, spec, customers)
    season = _season_weights(spec)
    windows = _target_windows(spec)

    sink = _CsvSink(Path(out), spec.encoding)
    counts = dict.fromkeys(["sales", "payments", "inventory", "complaints"], 0)
    order_seq, complaint_no = 0, 0
    doc_seq = dict.fromkeys(DOC_PREFIX, 0)
    by_customer, by_product = [], []
    block = _block_size(spec)
    for first in range(0, customers.height, block):
        part = customers.slice(first, block)
        sales, order_seq = _generate_sales(rng, spec, part, products, season, order_seq)
        payments = _generate_payments(rng, spec, part, sales, doc_seq)
        complaints = _generate_complaints(rng, spec, sales, complaint_no)
        complaint_no += complaints.height
        inventory = _channel_inventory(rng, spec, part, sales)
        sums = _window_sales(sales, part, windows)
        by_customer.append(sums[0])
        by_product.append(sums[1])
        counts["sales"] += _write_daily(sink, sales, "sales", spec)
        counts["payments"] += _write_daily(sink, payments, "payments", spec)
        counts["complaints"] += _write_daily(sink, complaints, "complaints", spec)
        counts["inventory"] += _write_inventory(sink, inventory)
        del sales, payments, complaints, inventory
    # the DC sorts after every customer id, so appending it keeps snapshots sorted
    counts["inventory"] += _write_inventory(sink, _dc_inventory(rng, spec, products))

    # Weekly master snapshots (and on the last day): customers known by then, with status.
    snapshot_days = [
        d
        for d in range(spec.days)
        if (spec.start_date + timedelta(days=d)).weekday() == MASTER_SNAPSHOT_WEEKDAY
        or d == spec.days - 1
    ]
    cust = customers.sort("customer_id")
    customer_cols = [c for c in customers.columns if not c.startswith("_")]
    for d in snapshot_days:
        snap_date = spec.start_date + timedelta(days=d)
        snap = cust.filter(pl.col("onboarding_date") <= snap_date).with_columns(
            status=pl.when(pl.col("_prospect"))
            .then(pl.lit("prospect"))
            .when(pl.col("_churn_day") + 90 < d)
            .then(pl.lit("closed"))
            .otherwise(pl.lit("active"))
        )
        cols = customer_cols[:3] + ["status"] + customer_cols[3:]
        sink.write(snap.select(cols), f"customers/customers_{snap_date:%Y%m%d}.csv")
        prods = products.filter(pl.col("launch_date") <= snap_date)
        sink.write(prods, f"products/products_{snap_date:%Y%m%d}.csv")
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
            f"prospects/prospects_{snap_date:%Y%m%d}.csv",
        )
    counts["prospects"] = prospects.height

    targets = _generate_targets(spec, windows, pl.concat(by_customer), pl.concat(by_product))
    for delivered, frame in targets.items():
        sink.write(frame, f"targets/targets_{delivered:%Y%m%d}.csv")
    counts["targets"] = sum(f.height for f in targets.values())
    return counts
