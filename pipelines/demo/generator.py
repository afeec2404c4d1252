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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
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
    rng: np.random.Generator, spec: DemoSpec, customers: pl.DataFrame, products: pl.DataFrame
) -> pl.DataFrame:
    season = _season_weights(spec)
    day_weekday = np.array(
        [(spec.start_date + timedelta(days=i)).weekday() for i in range(spec.days)]
    )
    launch_day = np.array([(d - spec.start_date).days for d in products["launch_date"]])
    prod_cat = products["category"].to_numpy()
    prod_tier = products["price_tier"].to_numpy()
    list_price = products["list_price"].to_numpy()
    unit_cost = products["unit_cost"].to_numpy()
    cats = list(CATEGORIES)
    tiers = list(PRICE_TIERS)

    line_cust, line_day, line_order, line_prod, line_qty = [], [], [], [], []
    order_seq = 0
    for row in customers.filter(~pl.col("_prospect")).iter_rows(named=True):
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
        pw = (
            np.where(prod_cat == fav, 4.0, 1.0)
            * np.array([tier_mix[tiers.index(x)] for x in prod_tier])
            + 1e-3
        )
        n_lines = 1 + rng.poisson(TYPE_LINES[t] - 1, n_orders)
        days_per_line = np.repeat(days, n_lines)
        chosen = rng.choice(len(pw), size=len(days_per_line), p=pw / pw.sum())
        # A product can only be ordered once it is launched; drop such draws.
        keep = launch_day[chosen] <= days_per_line
        orders_of_line = np.repeat(np.arange(order_seq + 1, order_seq + n_orders + 1), n_lines)
        order_seq += n_orders
        line_cust.append(np.full(keep.sum(), row["customer_id"]))
        line_day.append(days_per_line[keep])
        line_order.append(orders_of_line[keep])
        line_prod.append(chosen[keep])
        line_qty.append(1 + rng.poisson(2.0 * row["_scale"], keep.sum()))

    prod = np.concatenate(line_prod).astype(np.int64)
    qty = np.concatenate(line_qty).astype(np.int64)
    line_cust = np.concatenate(line_cust)
    n = len(prod)
    type_of = dict(zip(customers["customer_id"], customers["customer_type"], strict=True))
    disc_of = {c: TYPE_PRICE_DISCOUNT[t] for c, t in type_of.items()}
    cust_disc = pl.Series(line_cust).replace_strict(disc_of, return_dtype=pl.Float64).to_numpy()
    # Returns: 1.5% of lines come back a few days later as a negative line of their own order.
    is_return = rng.random(n) < 0.015
    qty = np.where(is_return, -np.maximum(1, qty // 3), qty)
    unit_price = np.round(list_price[prod] * (1 - cust_disc), 2)
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
            "customer_id": line_cust,
            "product_id": products["product_id"].to_numpy()[prod],
            "quantity": qty,
            "unit_price": unit_price,
            "discount_amount": discount,
            "net_amount": net,
            "cost_amount": cost,
            "promotion_id": pl.Series(promo_no).cast(pl.String).str.zfill(3),
            "_promo": promo,
        }
    ).with_columns(
        promotion_id=pl.when(pl.col("_promo")).then(pl.lit("PROMO") + pl.col("promotion_id"))
    )
    reps = dict(zip(customers["customer_id"], customers["sales_rep_id"], strict=True))
    return (
        frame.unique(["_order_seq", "product_id"], keep="first", maintain_order=True)
        .with_columns(
            order_date=pl.lit(spec.start_date) + pl.duration(days=pl.col("_day")),
            line_no=pl.int_range(1, pl.len() + 1).over("_order_seq"),
            sales_rep_id=pl.col("customer_id").replace_strict(reps),
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
        )
    )


def _generate_payments(
    rng: np.random.Generator, spec: DemoSpec, customers: pl.DataFrame, sales: pl.DataFrame
) -> pl.DataFrame:
    """Invoices per order, then receipts, credit notes, reversals and extensions."""
    orders = (
        sales.group_by("order_id", "customer_id", "_day")
        .agg(pl.col("net_amount").sum().round(2).alias("amount"))
        .sort("_day", "order_id")
    )
    cinfo = customers.select("customer_id", "payment_terms_days", "_payer", "_churn_day")
    orders = orders.join(cinfo, on="customer_id").sort("_day", "order_id")
    end = spec.days - 1
    docs: list[tuple] = []  # doc_id, doc_type, customer_id, day, due_day, amount, method, ref
    seq = {"INV": 0, "RC": 0, "CN": 0, "RV": 0, "EX": 0}

    def new_id(prefix: str) -> str:
        seq[prefix] += 1
        return f"{prefix}{seq[prefix]:08d}"

    methods = ["bank_transfer", "bank_acceptance_bill", "commercial_bill", "cash", "check"]
    method_p = [0.70, 0.12, 0.05, 0.08, 0.05]
    pending_lump: dict[str, float] = {}
    lump_day: dict[str, int] = {}
    for o in orders.iter_rows(named=True):
        day, amount, cust = o["_day"], o["amount"], o["customer_id"]
        if amount <= 0:  # a return-only order becomes an unreferenced credit note
            docs.append((new_id("CN"), "credit_note", cust, day, None, -amount, None, None))
            continue
        terms = o["payment_terms_days"]
        due = day + terms
        inv = new_id("INV")
        docs.append((inv, "invoice", cust, day, due, amount, None, None))
        payer = o["_payer"]
        if payer == "punctual":
            pay_day = due - int(rng.integers(0, 6)) if terms else day
        elif payer == "late":
            pay_day = due + int(rng.integers(3, 40))
        elif payer == "chronic":
            pay_day = due + int(rng.integers(30, 150))
        else:  # defaulter: pays late, then stops paying in the last months
            pay_day = due + int(rng.integers(20, 90)) if day < spec.days - 200 else end + 1
        if payer in ("late", "chronic") and rng.random() < 0.06 and due <= end:
            ext_day = max(day, due - int(rng.integers(0, 5)))
            new_due = due + int(rng.choice([15, 30, 45]))
            docs.append((new_id("EX"), "extension", cust, ext_day, new_due, 0.0, None, inv))
            pay_day = max(pay_day, new_due - int(rng.integers(0, 10)))
        if rng.random() < 0.01:  # rebate credit note against the invoice
            docs.append(
                (
                    new_id("CN"),
                    "credit_note",
                    cust,
                    day + int(rng.integers(5, 30)),
                    None,
                    round(amount * 0.02, 2),
                    None,
                    inv,
                )
            )
        pay_day = max(pay_day, day)
        r = rng.random()
        if r < 0.05:  # partial payment in two receipts
            first = round(amount * float(rng.uniform(0.3, 0.7)), 2)
            docs.append(
                (
                    new_id("RC"),
                    "receipt",
                    cust,
                    pay_day,
                    None,
                    first,
                    rng.choice(methods, p=method_p),
                    inv,
                )
            )
            docs.append(
                (
                    new_id("RC"),
                    "receipt",
                    cust,
                    pay_day + int(rng.integers(10, 40)),
                    None,
                    round(amount - first, 2),
                    rng.choice(methods, p=method_p),
                    inv,
                )
            )
        elif r < 0.15:  # paid in a lump with other invoices, without a reference
            pending_lump[cust] = round(pending_lump.get(cust, 0.0) + amount, 2)
            first_pending = lump_day.setdefault(cust, pay_day)
            # a lump settles what is pending, at least once a month
            if rng.random() < 0.35 or pay_day - first_pending >= 30:
                lump_day.pop(cust)
                pay_day = max(pay_day, first_pending)
                docs.append(
                    (
                        new_id("RC"),
                        "receipt",
                        cust,
                        pay_day,
                        None,
                        pending_lump.pop(cust),
                        "bank_transfer",
                        None,
                    )
                )
        else:
            method = rng.choice(methods, p=method_p)
            rc = new_id("RC")
            docs.append((rc, "receipt", cust, pay_day, None, amount, method, inv))
            if (
                method in ("bank_acceptance_bill", "commercial_bill", "check")
                and rng.random() < 0.03
            ):
                bounce = pay_day + int(rng.integers(5, 20))
                docs.append((new_id("RV"), "reversal", cust, bounce, None, amount, method, rc))
                docs.append(
                    (
                        new_id("RC"),
                        "receipt",
                        cust,
                        bounce + int(rng.integers(7, 45)),
                        None,
                        amount,
                        "bank_transfer",
                        inv,
                    )
                )
    for cust, amount in pending_lump.items():  # the last lump covers what is still pending
        docs.append(
            (
                new_id("RC"),
                "receipt",
                cust,
                lump_day[cust] + 30,
                None,
                amount,
                "bank_transfer",
                None,
            )
        )
    frame = pl.DataFrame(
        docs,
        schema={
            "doc_id": pl.String,
            "doc_type": pl.String,
            "customer_id": pl.String,
            "_day": pl.Int64,
            "_due_day": pl.Int64,
            "amount": pl.Float64,
            "method": pl.String,
            "reference_doc_id": pl.String,
        },
        orient="row",
    )
    start = pl.lit(spec.start_date)
    return (
        frame.filter(pl.col("_day") <= end)
        .with_columns(
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
    )


def _generate_inventory(
    rng: np.random.Generator,
    spec: DemoSpec,
    customers: pl.DataFrame,
    sales: pl.DataFrame,
    products: pl.DataFrame,
) -> pl.DataFrame:
    """Month-end channel stock for distributors and key accounts, plus the manufacturer's DC."""
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
    channel = monthly.with_columns(
        quantity_on_hand=(pl.col("sold") * pl.Series(cover)).round(0).cast(pl.Int64)
    )
    month_ends = channel["month_end"].unique().sort()
    dc = (
        pl.DataFrame({"month_end": month_ends})
        .join(products.select("product_id"), how="cross")
        .with_columns(
            customer_id=pl.lit("DC"),
            quantity_on_hand=pl.Series(rng.integers(200, 5000, month_ends.len() * products.height)),
        )
    )
    return (
        pl.concat(
            [
                channel.select("month_end", "customer_id", "product_id", "quantity_on_hand"),
                dc.select("month_end", "customer_id", "product_id", "quantity_on_hand"),
            ]
        )
        .rename({"month_end": "snapshot_date"})
        .sort("snapshot_date", "customer_id", "product_id")
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
    rng: np.random.Generator, spec: DemoSpec, sales: pl.DataFrame
) -> pl.DataFrame:
    orders = sales.select("order_id", "customer_id", "_day").unique("order_id").sort("order_id")
    picked = orders.filter(pl.Series(rng.random(orders.height) < 0.004))
    n = picked.height
    resolve = rng.integers(1, 30, n)
    received = picked["_day"].to_numpy() + rng.integers(1, 10, n)
    resolved_day = np.where(rng.random(n) < 0.9, received + resolve, -1)
    start = spec.start_date
    return pl.DataFrame(
        {
            "complaint_id": [f"CP{i:07d}" for i in range(1, n + 1)],
            "customer_id": picked["customer_id"],
            "_day": received,
            "received_date": [start + timedelta(days=int(d)) for d in received],
            "type": rng.choice(
                ["product_quality", "late_delivery", "spec_mismatch", "packaging", "service"],
                n,
                p=[0.3, 0.3, 0.15, 0.15, 0.1],
            ),
            "severity": rng.choice([1, 2, 3], n, p=[0.6, 0.3, 0.1]),
            "resolved_date": [
                start + timedelta(days=int(d)) if 0 <= d < spec.days else None for d in resolved_day
            ],
            "satisfaction_score": [
                int(s) if r >= 0 and rng.random() < 0.8 else None
                for s, r in zip(rng.integers(1, 6, n), resolved_day, strict=True)
            ],
        }
    ).filter(pl.col("_day") < spec.days)


def _generate_targets(spec: DemoSpec, customers: pl.DataFrame, sales: pl.DataFrame) -> dict:
    """One targets file per calendar year: region × month, the top customers × month and
    every product × month, set 5-10% above the trailing year's sales."""
    files = {}
    history = sales.with_columns(period=pl.col("order_date").dt.strftime("%Y-%m"))
    regions = customers.select("customer_id", "region")
    for year in range(spec.start_date.year, spec.end_date.year + 1):
        delivered = max(date(year, 1, 1), spec.start_date)
        # the trailing year's sales, annualised when the history is shorter
        since = max(delivered - timedelta(days=365), spec.start_date)
        until = delivered if (delivered - since).days >= 60 else since + timedelta(days=90)
        base = history.filter(pl.col("order_date") >= since, pl.col("order_date") < until)
        annual = 365 / max((until - since).days, 1)
        months = pl.DataFrame({"period": [f"{year}-{m:02d}" for m in range(1, 13)]})
        by_region = (
            base.join(regions, on="customer_id")
            .group_by("region")
            .agg(
                ((pl.col("net_amount").sum() * annual / 12 * 1.1 / 1000).round(0) * 1000).alias(
                    "target_net_sales"
                )
            )
            .join(months, how="cross")
            .with_columns(customer_id=pl.lit(None, pl.String), product_id=pl.lit(None, pl.String))
        )
        by_product = (
            base.group_by("product_id")
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
            base.group_by("customer_id")
            .agg(
                ((pl.col("net_amount").sum() * annual / 12 * 1.08 / 100).round(0) * 100).alias(
                    "target_net_sales"
                )
            )
            .sort(["target_net_sales", "customer_id"], descending=[True, False])
            .head(max(5, spec.customers // 20))
            .join(months, how="cross")
            .with_columns(region=pl.lit(None, pl.String), product_id=pl.lit(None, pl.String))
        )
        cols = ["period", "customer_id", "region", "product_id", "target_net_sales"]
        parts = [by_region.select(cols), top.select(cols), by_product.select(cols)]
        files[delivered] = pl.concat(parts).sort(cols[:4], nulls_last=True)
    return files


def _write(frame: pl.DataFrame, path: Path, encoding: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = frame.write_csv(date_format="%Y-%m-%d", float_precision=2, null_value="")
    path.write_bytes(text.encode(encoding))


def _write_daily(
    frame: pl.DataFrame,
    out: Path,
    extract: str,
    spec: DemoSpec,
    columns: list[str],
    day_col: str = "_day",
) -> int:
    written = 0
    for (day,), part in (
        frame.sort(day_col).partition_by(day_col, as_dict=True, maintain_order=True).items()
    ):
        stamp = (spec.start_date + timedelta(days=int(day))).strftime("%Y%m%d")
        _write(part.select(columns), out / extract / f"{extract}_{stamp}.csv", spec.encoding)
        written += 1
    return written


def generate(out: Path, spec: DemoSpec) -> dict[str, int]:
    """Write a full demo extract set under `out`; returns rows written per extract."""
    rng = np.random.default_rng(spec.seed)
    products = _generate_products(rng, spec)
    customers = _generate_customers(rng, spec)
    sales = _generate_sales(rng, spec, customers, products)
    payments = _generate_payments(rng, spec, customers, sales)
    inventory = _generate_inventory(rng, spec, customers, sales, products)
    prospects = _generate_prospects(rng, spec, customers)
    complaints = _generate_complaints(rng, spec, sales)
    targets = _generate_targets(spec, customers, sales)

    out = Path(out)
    counts = {
        "sales": sales.height,
        "payments": payments.height,
        "inventory": inventory.height,
        "complaints": complaints.height,
    }
    _write_daily(sales, out, "sales", spec, [c for c in sales.columns if not c.startswith("_")])
    _write_daily(
        payments, out, "payments", spec, [c for c in payments.columns if not c.startswith("_")]
    )
    _write_daily(
        complaints,
        out,
        "complaints",
        spec,
        [c for c in complaints.columns if not c.startswith("_")],
    )
    for (snap,), part in inventory.partition_by("snapshot_date", as_dict=True).items():
        _write(part, out / "inventory" / f"inventory_{snap:%Y%m%d}.csv", spec.encoding)

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
        _write(
            snap.select(cols),
            out / "customers" / f"customers_{snap_date:%Y%m%d}.csv",
            spec.encoding,
        )
        prods = products.filter(pl.col("launch_date") <= snap_date)
        _write(prods, out / "products" / f"products_{snap_date:%Y%m%d}.csv", spec.encoding)
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
        _write(
            snap.select(prospect_cols[:7] + ["last_contact_date"] + prospect_cols[7:]),
            out / "prospects" / f"prospects_{snap_date:%Y%m%d}.csv",
            spec.encoding,
        )
    counts["prospects"] = prospects.height

    for delivered, frame in targets.items():
        _write(frame, out / "targets" / f"targets_{delivered:%Y%m%d}.csv", spec.encoding)
    counts["targets"] = sum(f.height for f in targets.values())
    return counts
