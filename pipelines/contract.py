"""The extract contract (docs/analyses.md#extract-contract) as data: extracts, columns, types, keys, code domains and
the rules across columns (applied by ingestion.rules; files are named as ingestion.landing
says)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["string", "date", "int", "amount", "quantity", "period"]

CUSTOMER_TYPES = ("distributor", "retailer", "agent", "key_account", "end_customer")
REGIONS = ("north", "south", "east", "west", "central", "northeast", "northwest", "southwest")


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = "string"
    required: bool = False  # value must be present on every row
    domain: tuple[str, ...] | None = None  # allowed codes
    min_value: float | None = None
    max_value: float | None = None
    pii: bool = False
    # An extension beyond the contract's minimum columns: a file may leave it out of its header
    # (read as empty), so extracts written to the minimum contract keep loading.
    may_be_absent: bool = False


@dataclass(frozen=True)
class LineAmount:
    """On every row `net` = `quantity` x `unit_price` - `discount`, to within `tolerance`
    (a broken row is reported against `net`)."""

    net: str
    quantity: str
    unit_price: str
    discount: str
    tolerance: float = 0.01


@dataclass(frozen=True)
class ExactlyOneOf:
    """Exactly one of `columns` holds a value on every row (a broken row is reported against
    the first)."""

    columns: tuple[str, ...]


# A rule across the columns of one row.
RowRule = LineAmount | ExactlyOneOf


@dataclass(frozen=True)
class Extract:
    """One extract of the contract: its files, their columns, key and rules."""

    name: str
    kind: Literal["snapshot", "delta"]
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    optional: bool = False
    # A file of this extract with a header but no rows is refused (snapshots must carry rows;
    # a day without sales or payments is possible).
    rows_required: bool = False
    # The column that must equal the file's business date (delta extracts, dated snapshots).
    date_column: str | None = None
    # Columns that are required only for some rows: {column: (discriminator, values)}.
    conditional_required: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    # Rules across the columns of each row.
    row_rules: tuple[RowRule, ...] = ()
    # Values of the reference columns that need no master row.
    reference_exempt: tuple[str, ...] = ()
    # Documents that reference other documents of the extract (reference_doc_id): the
    # doc_type of a posted document -> the doc_type of the posted document of the same
    # customer it must reference, among everything delivered so far.
    reference_targets: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]

    # References to master data checked on arrival: column -> master extract.
    @property
    def references(self) -> dict[str, str]:
        return REFERENCES.get(self.name, {})


REFERENCES: dict[str, dict[str, str]] = {
    "sales": {"customer_id": "customers", "product_id": "products"},
    "payments": {"customer_id": "customers"},
    "inventory": {"customer_id": "customers", "product_id": "products"},
    "complaints": {"customer_id": "customers"},
    "prospects": {"referred_by_customer_id": "customers"},
    "credit_reviews": {"customer_id": "customers"},
    "targets": {"customer_id": "customers", "product_id": "products"},
}
# The manufacturer's own distribution centre in inventory: not a customer.
DISTRIBUTION_CENTRE = "DC"

EXTRACTS: dict[str, Extract] = {
    e.name: e
    for e in (
        Extract(
            name="customers",
            kind="snapshot",
            rows_required=True,
            key=("customer_id",),
            columns=(
                Column("customer_id", required=True),
                Column("customer_name", pii=True),
                Column("customer_type", required=True, domain=CUSTOMER_TYPES),
                Column("status", required=True, domain=("active", "prospect", "closed")),
                Column("region", required=True, domain=REGIONS),
                Column("province"),
                Column("city"),
                Column("sales_rep_id"),
                Column("onboarding_date", "date"),
                Column("payment_terms_days", "int", min_value=0, max_value=365),
                Column("deposit_amount", "amount", min_value=0),
                Column("contact_name", pii=True),
                Column("phone", pii=True),
                Column("address", pii=True),
                Column("legal_representative", pii=True),
            ),
        ),
        Extract(
            name="products",
            kind="snapshot",
            rows_required=True,
            key=("product_id",),
            columns=(
                Column("product_id", required=True),
                Column("product_name"),
                Column("category", required=True),
                Column("price_tier", required=True, domain=("low", "mid", "high")),
                Column("unit"),
                Column("list_price", "amount", min_value=0),
                Column("unit_cost", "amount", min_value=0),
                Column("launch_date", "date"),
            ),
        ),
        Extract(
            name="sales",
            kind="delta",
            key=("order_id", "line_no"),
            date_column="order_date",
            row_rules=(LineAmount("net_amount", "quantity", "unit_price", "discount_amount"),),
            columns=(
                Column("order_id", required=True),
                Column("line_no", "int", required=True, min_value=1),
                Column("order_date", "date", required=True),
                Column("customer_id", required=True),
                Column("product_id", required=True),
                Column("quantity", "quantity", required=True),
                Column("unit_price", "amount", required=True, min_value=0),
                Column("discount_amount", "amount", required=True),
                Column("net_amount", "amount", required=True),
                Column("cost_amount", "amount"),
                Column("sales_rep_id"),
                Column("promotion_id"),
            ),
        ),
        Extract(
            name="inventory",
            kind="snapshot",
            rows_required=True,
            key=("snapshot_date", "customer_id", "product_id"),
            date_column="snapshot_date",
            reference_exempt=(DISTRIBUTION_CENTRE,),
            columns=(
                Column("snapshot_date", "date", required=True),
                Column("customer_id", required=True),
                Column("product_id", required=True),
                Column("quantity_on_hand", "quantity", required=True, min_value=0),
            ),
        ),
        Extract(
            name="payments",
            kind="delta",
            key=("doc_id",),
            date_column="doc_date",
            conditional_required={
                "due_date": ("doc_type", ("invoice", "extension")),
                "reference_doc_id": ("doc_type", ("reversal", "extension")),
            },
            # the payments contract
            reference_targets={
                "receipt": "invoice",
                "credit_note": "invoice",
                "extension": "invoice",
                "reversal": "receipt",
            },
            columns=(
                Column("doc_id", required=True),
                Column(
                    "doc_type",
                    required=True,
                    domain=("invoice", "receipt", "credit_note", "reversal", "extension"),
                ),
                Column("customer_id", required=True),
                Column("doc_date", "date", required=True),
                Column("due_date", "date"),
                Column("amount", "amount", required=True, min_value=0),
                Column(
                    "method",
                    domain=(
                        "bank_transfer",
                        "cash",
                        "bank_acceptance_bill",
                        "commercial_bill",
                        "check",
                    ),
                ),
                Column("reference_doc_id"),
                Column("status", required=True, domain=("posted", "cancelled")),
            ),
        ),
        Extract(
            name="prospects",
            kind="snapshot",
            optional=True,
            key=("prospect_id",),
            columns=(
                Column("prospect_id", required=True),
                Column("name", pii=True),
                Column("customer_type", domain=CUSTOMER_TYPES),
                Column("region", domain=REGIONS),
                Column("lead_source"),
                Column(
                    "stage",
                    required=True,
                    domain=("new", "contacted", "qualified", "negotiating", "trial_order", "lost"),
                ),
                Column("expected_monthly_volume", "amount", min_value=0),
                Column("last_contact_date", "date"),
                Column("visit_count", "int", min_value=0),
                Column("referred_by_customer_id"),
            ),
        ),
        Extract(
            name="complaints",
            kind="delta",
            optional=True,
            key=("complaint_id",),
            date_column="received_date",
            columns=(
                Column("complaint_id", required=True),
                Column("customer_id", required=True),
                Column("received_date", "date", required=True),
                Column(
                    "type",
                    required=True,
                    domain=(
                        "product_quality",
                        "late_delivery",
                        "spec_mismatch",
                        "packaging",
                        "service",
                    ),
                ),
                Column("severity", "int", required=True, min_value=1, max_value=3),
                Column("resolved_date", "date"),
                Column("satisfaction_score", "int", min_value=1, max_value=5),
            ),
        ),
        Extract(
            # 客户信用调查: the credit investigation checklist's three parts, scored 0-100
            # (100 = best), and the security the company holds; no free text, no PII
            name="credit_reviews",
            kind="delta",
            optional=True,
            key=("customer_id", "review_date"),
            date_column="review_date",
            columns=(
                Column("customer_id", required=True),
                Column("review_date", "date", required=True),
                Column("operating_score", "int", min_value=0, max_value=100),  # 经营状况
                Column("financial_score", "int", min_value=0, max_value=100),  # 财务现状
                Column("payment_score", "int", min_value=0, max_value=100),  # 支付状况
                Column("has_guarantor", domain=("true", "false")),
                Column("collateral_amount", "amount", min_value=0),  # CNY
                Column("reviewer_id"),
            ),
        ),
        Extract(
            name="targets",
            kind="snapshot",
            optional=True,
            key=("period", "customer_id", "region", "product_id"),
            row_rules=(ExactlyOneOf(("customer_id", "region", "product_id")),),
            columns=(
                Column("period", "period", required=True),
                Column("customer_id"),
                Column("region", domain=REGIONS),
                # beyond the minimum contract: product targets (F14), one of the three per row
                Column("product_id", may_be_absent=True),
                Column("target_net_sales", "amount", required=True, min_value=0),
            ),
        ),
    )
}

# DuckDB types of the raw tables.
DUCKDB_TYPES: dict[ColumnType, str] = {
    "string": "VARCHAR",
    "date": "DATE",
    "int": "INTEGER",
    "amount": "DECIMAL(18,2)",
    "quantity": "DECIMAL(18,3)",
    "period": "VARCHAR",
}
