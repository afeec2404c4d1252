{{ config(meta={"dagster": {"ref": {"name": "customer_ar"}}}) }}

-- F21: the buckets minus unapplied credit equal invoices + reversals - receipts -
-- credit notes, for every customer, to the cent. Returns the customers where they differ.
with documents as (
    select
        customer_id,
        sum(case doc_type
            when 'invoice' then amount
            when 'reversal' then amount
            when 'receipt' then -amount
            when 'credit_note' then -amount
            else 0
        end) as signed_balance
    from {{ ref('stg_erp__payments') }}
    where doc_date <= {{ as_of_date() }}
    group by customer_id
),

ledger as (
    select
        customer_id,
        ar_balance,
        ar_current + ar_1_30 + ar_31_60 + ar_61_90 + ar_91_180 + ar_over_180
        - unapplied_credit
            as buckets_less_unapplied
    from {{ ref('customer_ar') }}
    where as_of_date = {{ as_of_date() }}
)

-- `*` over a `using` join: the key once, then every other column of both sides
select *  -- noqa: RF02
from ledger
full outer join documents using (customer_id)
where abs(coalesce(ledger.ar_balance, 0) - coalesce(documents.signed_balance, 0)) > 0.005
    or abs(ledger.ar_balance - ledger.buckets_less_unapplied) > 0.005
