"""The extract contract of SPEC §2 as data: files, columns, types, keys and code domains."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
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
    # An extension beyond the SPEC's minimum columns: a file may leave it out of its header
    # (read as empty), so extracts written to the minimum contract keep loading.
    may_be_absent: bool = False


@dataclass(frozen=True)
class Extract:
    """One extract of the contract: `<name>/<name>_<YYYYMMDD>.csv` files."""

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

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]

    # References to master data checked on arrival: column -> master extract. A value in
    # `exempt` (the manufacturer's own DC) needs no master row.
    @property
    def references(self) -> dict[str, str]:
        return REFERENCES.get(self.name, {})

    def file_pattern(self) -> re.Pattern[str]:
        return re.compile(rf"^{self.name}_(\d{{8}})\.csv$", re.IGNORECASE)

    def landed_dates(self, landing: Path) -> list[date]:
        """The business dates of this extract's files landed in `landing`, oldest first
        (entries whose name is not a valid <extract>_YYYYMMDD.csv are not deliveries)."""
        dates = []
        for path in (landing / self.name).glob(f"{self.name}_*"):
            match = self.file_pattern().match(path.name)
            if match and path.is_file():
                try:
                    dates.append(datetime.strptime(match.group(1), "%Y%m%d").date())
                except ValueError:
                    continue
        return sorted(dates)


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
            columns=(
                Column("period", "period", required=True),
                Column("customer_id"),
                Column("region", domain=REGIONS),
                # beyond the SPEC: product targets (F14), one of the three per row
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
