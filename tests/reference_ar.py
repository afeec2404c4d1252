"""An independent implementation of the F21 AR ledger (docs/analyses.md#f21), used as a test oracle.

Plain Python on payment rows (dicts with the columns of the payments extract, values as the
csv module reads them: strings, '' or None for a missing value), Decimal arithmetic and no
SQL, so that the dbt ledger (int_ar_items_aged, customer_ar) is checked against a second,
separately written reading of F21 (docs/analyses.md#f21):

1. Only posted documents dated on or before the as-of date exist (cancelled ones never did).
2. A reversal cancels the receipt it references: the receipt counts for its amount less its
   reversals (never below zero).
3. An extension sets its invoice's due date; the latest extension wins.
4. A receipt or credit note settles the invoice it references, up to what that invoice still
   owes after the earlier referenced credits; the excess, and every unreferenced receipt or
   credit note, goes to the customer's pool.
5. The pool settles the customer's open invoices oldest first, by (due date after extensions,
   doc_date, doc_id); what is left is unapplied credit.
6. Each open amount is aged by days past due: current (days <= 0), 1-30, 31-60, 61-90, 91-180,
   over 180. overdue_amount is the open amount past due (every bucket except current), and
   ar_balance = sum of the buckets - unapplied credit
             = invoices + reversals - receipts - credit notes.

Where F21 is silent the choices of the dbt ledger are mirrored; each is marked "F21
silent" below.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from pipelines.contract import EXTRACTS

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

BUCKETS = ("ar_current", "ar_1_30", "ar_31_60", "ar_61_90", "ar_91_180", "ar_over_180")
FIELDS = ("ar_balance", "unapplied_credit", "overdue_amount", *BUCKETS)
PAYMENT_COLUMNS = tuple(EXTRACTS["payments"].column_names)


@dataclass(frozen=True)
class Document:
    doc_id: str
    doc_type: str
    customer_id: str
    doc_date: date
    due_date: date | None
    amount: Decimal
    reference_doc_id: str | None


@dataclass
class Invoice:
    doc: Document
    due_date: date  # after extensions
    open_amount: Decimal  # after referenced credits, then after the pool

    @property
    def is_partially_paid(self) -> bool:
        return ZERO < self.open_amount < self.doc.amount


@dataclass(frozen=True)
class OpenItem:
    """Something owed that is not an invoice: a reversal the ledger cannot match to a receipt."""

    item_id: str
    customer_id: str
    due_date: date
    open_amount: Decimal


@dataclass
class Ledger:
    as_of: date
    invoices: dict[str, Invoice] = field(default_factory=dict)
    other_items: list[OpenItem] = field(default_factory=list)
    unapplied_credit: dict[str, Decimal] = field(default_factory=dict)
    customers: set[str] = field(default_factory=set)
    # what the documents did, to prove a data set exercises the hard cases
    cancelled_receipts: set[str] = field(default_factory=set)
    moved_due_dates: set[str] = field(default_factory=set)

    def positions(self) -> dict[str, dict[str, Decimal]]:
        """Per customer: ar_balance, unapplied_credit, overdue_amount and the six buckets."""
        out = {c: dict.fromkeys(FIELDS, ZERO) for c in self.customers}
        aged = [(i.doc.customer_id, i.due_date, i.open_amount) for i in self.invoices.values()]
        aged += [(i.customer_id, i.due_date, i.open_amount) for i in self.other_items]
        for customer, due_date, open_amount in aged:
            if open_amount == 0:
                continue
            days = (self.as_of - due_date).days
            row = out[customer]
            row[bucket_of(days)] += open_amount
            row["ar_balance"] += open_amount
            if days > 0:
                row["overdue_amount"] += open_amount
        for customer, credit in self.unapplied_credit.items():
            out[customer]["unapplied_credit"] += credit
            out[customer]["ar_balance"] -= credit
        return out


def bucket_of(days_past_due: int) -> str:
    """The aging bucket of an open amount `days_past_due` days after its due date."""
    if days_past_due <= 0:
        return "ar_current"
    for upper, bucket in ((30, "ar_1_30"), (60, "ar_31_60"), (90, "ar_61_90"), (180, "ar_91_180")):
        if days_past_due <= upper:
            return bucket
    return "ar_over_180"


def _value(row: Mapping[str, object], column: str) -> str | None:
    value = row.get(column)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _documents(rows: Iterable[Mapping[str, object]], as_of: date) -> list[Document]:
    docs: dict[str, Document] = {}
    for row in rows:
        if _value(row, "status") != "posted":
            continue  # cancelled documents never existed for the ledger
        doc_date = _date(_value(row, "doc_date"))
        if doc_date is None or doc_date > as_of:
            continue  # not yet issued on the as-of date
        doc = Document(
            doc_id=_value(row, "doc_id") or "",
            doc_type=_value(row, "doc_type") or "",
            customer_id=_value(row, "customer_id") or "",
            doc_date=doc_date,
            due_date=_date(_value(row, "due_date")),
            amount=Decimal(_value(row, "amount") or "0"),
            reference_doc_id=_value(row, "reference_doc_id"),
        )
        if doc.doc_id in docs:
            raise ValueError(f"doc_id {doc.doc_id} appears twice")
        docs[doc.doc_id] = doc
    return sorted(docs.values(), key=lambda d: (d.doc_date, d.doc_id))


def reference_ledger(rows: Iterable[Mapping[str, object]], as_of: date) -> Ledger:
    """The F21 ledger of `rows` (payments extract rows) as of `as_of`."""
    docs = _documents(rows, as_of)
    ledger = Ledger(as_of=as_of, customers={d.customer_id for d in docs})
    of_type: dict[str, list[Document]] = defaultdict(list)
    for doc in docs:  # docs are in (doc_date, doc_id) order, and so is each list
        of_type[doc.doc_type].append(doc)

    # Invoices, with the due date of their latest extension. "Latest" is the extension with
    # the greatest (doc_date, doc_id), as in the dbt ledger -- not the one with the latest
    # due date: a later request can bring a due date forward again.
    for doc in of_type["invoice"]:
        assert doc.due_date is not None, f"invoice {doc.doc_id} without a due date"
        ledger.invoices[doc.doc_id] = Invoice(doc, doc.due_date, doc.amount)
    for ext in of_type["extension"]:
        invoice = ledger.invoices.get(ext.reference_doc_id or "")
        # An extension moves only its own customer's invoice, like every other reference; one
        # naming an unknown or another customer's invoice changes nothing.
        if (
            invoice is not None
            and invoice.doc.customer_id == ext.customer_id
            and ext.due_date is not None
        ):
            invoice.due_date = ext.due_date
    for invoice in ledger.invoices.values():
        if invoice.due_date != invoice.doc.due_date:
            ledger.moved_due_dates.add(invoice.doc.doc_id)

    # Reversals: each cancels (part of) the receipt it references. F21 silent on a reversal
    # whose receipt the ledger does not know (another customer's, a credit note, cancelled or
    # dated later): like the dbt ledger it is owed in its own right from its own date. What
    # reversals of one receipt exceed it by is owed from the last of those reversals.
    receipts = {d.doc_id: d for d in of_type["receipt"]}
    reversed_amount: dict[str, Decimal] = defaultdict(lambda: ZERO)
    last_reversal: dict[str, date] = {}
    for rev in of_type["reversal"]:
        receipt = receipts.get(rev.reference_doc_id or "")
        if receipt is None or receipt.customer_id != rev.customer_id:
            ledger.other_items.append(
                OpenItem(rev.doc_id, rev.customer_id, rev.doc_date, rev.amount)
            )
            continue
        reversed_amount[receipt.doc_id] += rev.amount
        last_reversal[receipt.doc_id] = rev.doc_date
        ledger.cancelled_receipts.add(receipt.doc_id)
    for receipt_id, amount in reversed_amount.items():
        receipt = receipts[receipt_id]
        if amount > receipt.amount:
            ledger.other_items.append(
                OpenItem(
                    f"{receipt_id}:over-reversed",
                    receipt.customer_id,
                    last_reversal[receipt_id],
                    amount - receipt.amount,
                )
            )

    # Referenced receipts and credit notes first (F21 settles "up to that invoice's
    # amount", i.e. before the pool touches it), then the pool. F21 silent on a credit naming
    # another customer's invoice or one not issued yet: like the dbt ledger, it is pooled.
    # Among several credits naming one invoice, which one's excess is pooled does not change
    # any figure; they are taken in (doc_date, doc_id) order.
    pool: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for credit in sorted(of_type["receipt"] + of_type["credit_note"], key=_doc_order):
        effective = max(credit.amount - reversed_amount.get(credit.doc_id, ZERO), ZERO)
        invoice = ledger.invoices.get(credit.reference_doc_id or "")
        if invoice is not None and invoice.doc.customer_id == credit.customer_id:
            applied = min(effective, invoice.open_amount)
            invoice.open_amount -= applied
            effective -= applied
        pool[credit.customer_id] += effective

    by_customer: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in ledger.invoices.values():
        by_customer[invoice.doc.customer_id].append(invoice)
    for customer, left in pool.items():
        for invoice in sorted(
            by_customer[customer], key=lambda i: (i.due_date, i.doc.doc_date, i.doc.doc_id)
        ):
            applied = min(left, invoice.open_amount)
            invoice.open_amount -= applied
            left -= applied
        if left > 0:
            ledger.unapplied_credit[customer] = left
    return ledger


def _doc_order(doc: Document) -> tuple[date, str]:
    return (doc.doc_date, doc.doc_id)


def reference_ar(
    rows: Iterable[Mapping[str, object]], as_of: date
) -> dict[str, dict[str, Decimal]]:
    """Per customer with documents on or before `as_of`: the nine F21 figures, in CNY."""
    return reference_ledger(rows, as_of).positions()


def read_payments(folder: Path) -> list[dict[str, str]]:
    """Every row of the payments CSV files of a landing folder (`payments/payments_*.csv`)."""
    rows: list[dict[str, str]] = []
    for path in sorted((folder / "payments").glob("payments_*.csv")):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def to_cents(value: object) -> Decimal:
    """A published amount (Decimal, float or string) as a Decimal to the cent."""
    if value is None:
        raise ValueError("a published AR figure is null")
    return Decimal(str(value)).quantize(CENT)
