-- The AR ledger (SPEC F21) as of the run's date, one row per item: every invoice, any
-- reversal that cancels no known receipt (owed from its own date), and per customer the
-- unapplied credit (a negative item without an aging bucket). The sum of open_amount per
-- customer is the AR balance.
--
-- Settlement: a reversal cancels the receipt it references; a receipt or credit note
-- settles the invoice it references up to that invoice's amount (in doc_date, doc_id
-- order); everything else (unreferenced credits and any excess) is pooled per customer
-- and settles open invoices oldest first (effective due date, doc_date, doc_id); what is
-- left is unapplied credit. The latest extension sets an
-- invoice's due date. Documents dated after the as-of date do not exist yet.
with documents as (
    select * from {{ ref('stg_erp__payments') }}
    where doc_date <= {{ as_of_date() }}
),

invoices as (
    select doc_id as invoice_id, customer_id, doc_date, due_date as original_due_date, amount
    from documents
    where doc_type = 'invoice'
),

latest_extensions as (
    select reference_doc_id as invoice_id, due_date as extended_due_date
    from documents
    where doc_type = 'extension'
    qualify row_number() over (
        partition by reference_doc_id order by doc_date desc, doc_id desc
    ) = 1
),

receipts as (
    select doc_id, customer_id, amount
    from documents
    where doc_type = 'receipt'
),

reversals as (
    select
        reversals.doc_id,
        reversals.customer_id,
        reversals.doc_date,
        reversals.amount,
        receipts.doc_id as receipt_id,
    from documents as reversals
    left join receipts
        on receipts.doc_id = reversals.reference_doc_id
        and receipts.customer_id = reversals.customer_id
    where reversals.doc_type = 'reversal'
),

reversed_receipts as (
    select receipt_id, sum(amount) as reversed_amount, max(doc_date) as last_reversal_date
    from reversals
    where receipt_id is not null
    group by receipt_id
),

credits as (
    select
        documents.doc_id,
        documents.customer_id,
        documents.doc_date,
        documents.reference_doc_id,
        greatest(documents.amount - coalesce(reversed_receipts.reversed_amount, 0), 0)
            as effective_amount,
    from documents
    left join reversed_receipts on reversed_receipts.receipt_id = documents.doc_id
    where documents.doc_type in ('receipt', 'credit_note')
),

directed_credits as (
    select
        credits.doc_id,
        invoices.amount as invoice_amount,
        credits.reference_doc_id as invoice_id,
        credits.effective_amount,
        coalesce(sum(credits.effective_amount) over (
            partition by credits.reference_doc_id
            order by credits.doc_date, credits.doc_id
            rows between unbounded preceding and 1 preceding
        ), 0) as earlier_directed_amount,
    from credits
    inner join invoices
        on invoices.invoice_id = credits.reference_doc_id
        and invoices.customer_id = credits.customer_id
),

directed_applied as (
    select
        doc_id,
        invoice_id,
        least(effective_amount, greatest(invoice_amount - earlier_directed_amount, 0))
            as applied_amount,
    from directed_credits
),

pools as (
    select
        credits.customer_id,
        sum(credits.effective_amount - coalesce(directed_applied.applied_amount, 0))
            as pool_amount,
    from credits
    left join directed_applied using (doc_id)
    group by credits.customer_id
),

invoices_after_directed as (
    select
        invoices.*,
        coalesce(latest_extensions.extended_due_date, invoices.original_due_date) as due_date,
        invoices.amount - coalesce(settled.applied_amount, 0) as open_after_directed,
    from invoices
    left join latest_extensions using (invoice_id)
    left join (
        select invoice_id, sum(applied_amount) as applied_amount
        from directed_applied
        group by invoice_id
    ) as settled using (invoice_id)
),

invoices_oldest_first as (
    select
        invoices_after_directed.*,
        coalesce(pools.pool_amount, 0) as pool_amount,
        coalesce(sum(open_after_directed) over (
            partition by invoices_after_directed.customer_id
            order by due_date, doc_date, invoice_id
            rows between unbounded preceding and 1 preceding
        ), 0) as open_before,
    from invoices_after_directed
    left join pools using (customer_id)
),

invoice_items as (
    select
        invoice_id as item_id,
        'invoice' as item_type,
        customer_id,
        doc_date,
        original_due_date,
        due_date,
        amount,
        open_after_directed
            - least(open_after_directed, greatest(pool_amount - open_before, 0)) as open_amount,
    from invoices_oldest_first
),

reversal_items as (
    -- reversals of unknown receipts, and whatever a receipt's reversals exceed it by
    select
        doc_id as item_id,
        'reversal' as item_type,
        customer_id,
        doc_date,
        doc_date as original_due_date,
        doc_date as due_date,
        amount,
        amount as open_amount,
    from reversals
    where receipt_id is null
    union all
    select
        reversed_receipts.receipt_id || ':over-reversed' as item_id,
        'reversal' as item_type,
        receipts.customer_id,
        reversed_receipts.last_reversal_date as doc_date,
        reversed_receipts.last_reversal_date as original_due_date,
        reversed_receipts.last_reversal_date as due_date,
        reversed_receipts.reversed_amount - receipts.amount as amount,
        reversed_receipts.reversed_amount - receipts.amount as open_amount,
    from reversed_receipts
    inner join receipts on receipts.doc_id = reversed_receipts.receipt_id
    where reversed_receipts.reversed_amount > receipts.amount
),

unapplied_items as (
    select
        pools.customer_id || ':unapplied' as item_id,
        'unapplied_credit' as item_type,
        pools.customer_id,
        null::date as doc_date,
        null::date as original_due_date,
        null::date as due_date,
        0::decimal(18, 2) as amount,
        -greatest(pools.pool_amount - coalesce(open_totals.open_after_directed, 0), 0)
            as open_amount,
    from pools
    left join (
        select customer_id, sum(open_after_directed) as open_after_directed
        from invoices_after_directed
        group by customer_id
    ) as open_totals using (customer_id)
    where pools.pool_amount > coalesce(open_totals.open_after_directed, 0)
),

items as (
    select * from invoice_items
    union all
    select * from reversal_items
    union all
    select * from unapplied_items
),

final as (
    select
        {{ as_of_date() }} as as_of_date,
        items.*,
        case
            when due_date is not null then greatest({{ as_of_date() }} - due_date, 0)
        end as days_past_due,
        case
            when item_type = 'unapplied_credit' or open_amount = 0 then null
            when {{ as_of_date() }} <= due_date then 'current'
            when {{ as_of_date() }} - due_date <= 30 then '1_30'
            when {{ as_of_date() }} - due_date <= 60 then '31_60'
            when {{ as_of_date() }} - due_date <= 90 then '61_90'
            when {{ as_of_date() }} - due_date <= 180 then '91_180'
            else 'over_180'
        end as aging_bucket,
    from items
)

select * from final
