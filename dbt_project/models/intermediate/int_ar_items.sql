{# Spark: the buckets of customers settled again overwrite their partitions
   (macros/ar_ledger.sql); Parquet tables cannot delete single customers #}
{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite' if target.type == 'spark' else 'append',
    partition_by=['customer_bucket'] if target.type == 'spark' else none,
    file_format='parquet' if target.type == 'spark' else none,
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_ledger_customers() }}",
) }}
-- The AR ledger's items (F21), whatever the as-of date's aging: every invoice, any
-- reversal that cancels no known receipt (owed from its own date), and per customer the
-- unapplied credit (a negative item with no due date). The sum of open_amount per customer
-- is the AR balance; int_ar_items_aged ages them as of the run's date.
--
-- Settlement (int_ar_credits, int_ar_credit_applications): a reversal cancels the receipt it
-- references; a receipt or credit note settles the invoice it references up to that
-- invoice's amount (in doc_date, doc_id order); everything else (unreferenced credits and
-- any excess) is pooled per customer and settles open invoices oldest first (effective due
-- date, doc_date, doc_id); what is left is unapplied credit. The latest extension sets an
-- invoice's due date (int_ar_invoices). Documents dated after the as-of date do not exist yet.
-- Incremental per customer (macros/ar_ledger.sql).
with documents as (
    select * from {{ ref('stg_erp__payments') }}
    where doc_date <= {{ as_of_date() }} and {{ ledger_customers_to_build() }}
),

invoices as (
    select * from {{ ref('int_ar_invoices') }}
    where {{ ledger_rows_to_build() }}
),

credits as (
    select * from {{ ref('int_ar_credits') }}
    where {{ ledger_rows_to_build() }}
),

applied as (
    select invoice_id, sum(applied_amount) as applied_amount
    from {{ ref('int_ar_credit_applications') }}
    where {{ ledger_rows_to_build() }}
    group by invoice_id
),

invoice_items as (
    select
        invoices.invoice_id as item_id,
        'invoice' as item_type,
        invoices.customer_id,
        invoices.doc_date,
        invoices.original_due_date,
        invoices.due_date,
        invoices.amount,
        invoices.amount - coalesce(applied.applied_amount, 0) as open_amount
    from invoices
    left join applied using (invoice_id)
),

reversal_items as (
    -- reversals of unknown receipts, and whatever a receipt's reversals exceed it by
    select
        reversals.doc_id as item_id,
        'reversal' as item_type,
        reversals.customer_id,
        reversals.doc_date,
        reversals.doc_date as original_due_date,
        reversals.doc_date as due_date,
        reversals.amount,
        reversals.amount as open_amount
    from documents as reversals
    left join credits
        on credits.doc_id = reversals.reference_doc_id
        and credits.customer_id = reversals.customer_id
        and credits.doc_type = 'receipt'
    where reversals.doc_type = 'reversal' and credits.doc_id is null
    union all
    select
        doc_id || ':over-reversed' as item_id,
        'reversal' as item_type,
        customer_id,
        last_reversal_date as doc_date,
        last_reversal_date as original_due_date,
        last_reversal_date as due_date,
        reversed_amount - amount as amount,
        reversed_amount - amount as open_amount
    from credits
    where reversed_amount > amount
),

unapplied_items as (
    -- credit that no invoice took: what the credits bring minus what they settled
    select
        credits.customer_id || ':unapplied' as item_id,
        'unapplied_credit' as item_type,
        credits.customer_id,
        cast(null as date) as doc_date,
        cast(null as date) as original_due_date,
        cast(null as date) as due_date,
        cast(0 as decimal(18, 2)) as amount,
        -(sum(credits.effective_amount) - coalesce(any_value(settled.applied_amount), 0))
            as open_amount
    from credits
    left join (
        select customer_id, sum(applied_amount) as applied_amount
        from {{ ref('int_ar_credit_applications') }}
        where {{ ledger_rows_to_build() }}
        group by customer_id
    ) as settled using (customer_id)
    group by credits.customer_id
    having sum(credits.effective_amount) > coalesce(any_value(settled.applied_amount), 0)
),

items as (
    select * from invoice_items
    union all
    select * from reversal_items
    union all
    select * from unapplied_items
)

select *, {{ ledger_through() }} as ledger_through{{ ledger_bucket_column() }}
from items
