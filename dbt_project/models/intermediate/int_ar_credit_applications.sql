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
-- How each receipt and credit note settles invoices as of the run's date (F21), one row
-- per credit x invoice it settles, with the amount applied:
-- * directed: a credit that references an invoice of its customer settles it up to what the
--   invoice's earlier referencing credits (doc_date, doc_id order) left open;
-- * pool: everything else (unreferenced credits, the excess of referenced ones) is pooled per
--   customer and settles the invoices still open oldest first (due date in force, doc_date,
--   doc_id). Which pooled credit pays which invoice follows the credits' own order
--   (doc_date, doc_id): the pool and the open invoices are laid end to end as intervals and
--   each overlap is one application. Per invoice the total equals the F21 ledger's; what no
--   invoice takes is unapplied credit.
-- Incremental per customer (macros/ar_ledger.sql).
with invoices as (
    select * from {{ ref('int_ar_invoices') }}
    where {{ ledger_rows_to_build() }}
),

credits as (
    select * from {{ ref('int_ar_credits') }}
    where {{ ledger_rows_to_build() }}
),

directed_credits as (
    select
        credits.doc_id as credit_id,
        credits.customer_id,
        credits.doc_date as credit_date,
        credits.effective_amount,
        invoices.invoice_id,
        invoices.amount as invoice_amount,
        coalesce(sum(credits.effective_amount) over (
            partition by invoices.invoice_id
            order by credits.doc_date, credits.doc_id
            rows between unbounded preceding and 1 preceding
        ), 0) as earlier_directed_amount
    from credits
    inner join invoices
        on invoices.invoice_id = credits.reference_doc_id
        and invoices.customer_id = credits.customer_id
),

directed as (
    select
        customer_id,
        credit_id,
        credit_date,
        invoice_id,
        least(effective_amount, greatest(invoice_amount - earlier_directed_amount, 0))
            as applied_amount
    from directed_credits
),

pool_credits as (
    select
        credits.customer_id,
        credits.doc_id as credit_id,
        sum(credits.effective_amount - coalesce(directed.applied_amount, 0)) over (
            partition by credits.customer_id
            order by credits.doc_date, credits.doc_id
            rows between unbounded preceding and current row
        ) as interval_end
    from credits
    left join directed on directed.credit_id = credits.doc_id
    where credits.effective_amount > coalesce(directed.applied_amount, 0)
),

open_invoices as (
    select
        invoices.customer_id,
        invoices.invoice_id,
        sum(invoices.amount - coalesce(settled.applied_amount, 0)) over (
            partition by invoices.customer_id
            order by invoices.due_date, invoices.doc_date, invoices.invoice_id
            rows between unbounded preceding and current row
        ) as interval_end
    from invoices
    left join (
        select invoice_id, sum(applied_amount) as applied_amount
        from directed
        group by invoice_id
    ) as settled using (invoice_id)
    where invoices.amount > coalesce(settled.applied_amount, 0)
),

breakpoints as (
    -- every interval end of either side; between two consecutive ones, one credit and one
    -- invoice (the first of each ending at or after it) overlap
    select customer_id, interval_end, max(credit_id) as credit_id, max(invoice_id) as invoice_id
    from (
        select customer_id, interval_end, credit_id, null as invoice_id from pool_credits
        union all
        select customer_id, interval_end, null as credit_id, invoice_id from open_invoices
    )
    group by all
),

segments as (
    select
        customer_id,
        interval_end - coalesce(lag(interval_end) over (
            partition by customer_id order by interval_end
        ), 0) as applied_amount,
        {{ first_value_ignore_nulls('credit_id') }} over (
            partition by customer_id order by interval_end
            rows between current row and unbounded following
        ) as credit_id,
        {{ first_value_ignore_nulls('invoice_id') }} over (
            partition by customer_id order by interval_end
            rows between current row and unbounded following
        ) as invoice_id
    from breakpoints
),

pooled as (
    select customer_id, credit_id, invoice_id, sum(applied_amount) as applied_amount
    from segments
    where credit_id is not null and invoice_id is not null
    group by all
),

applications as (
    select customer_id, credit_id, invoice_id, applied_amount, 'directed' as application_type
    from directed
    where applied_amount > 0
    union all
    select customer_id, credit_id, invoice_id, applied_amount, 'pool' as application_type
    from pooled
)

select
    applications.customer_id,
    applications.credit_id,
    credits.doc_type as credit_type,
    credits.doc_date as credit_date,
    applications.invoice_id,
    invoices.doc_date as invoice_date,
    invoices.due_date,
    applications.application_type,
    applications.applied_amount,
    {{ ledger_bucket_column('applications.customer_id', leading=false) }}
    {{ ledger_through() }} as ledger_through
from applications
inner join credits on credits.doc_id = applications.credit_id
inner join invoices on invoices.invoice_id = applications.invoice_id
