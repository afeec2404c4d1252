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
-- Receipts and credit notes as of the run's date (F21) with what is left of each after
-- reversals: a reversal cancels (part of) the receipt it references, because the bounced
-- money never arrived. `reversed_amount` beyond the receipt's amount is owed again (an item
-- of its own in int_ar_items_aged). Incremental per customer (macros/ar_ledger.sql).
with documents as (
    select * from {{ ref('stg_erp__payments') }}
    where doc_date <= {{ as_of_date() }} and {{ ledger_customers_to_build() }}
),

credits as (
    select doc_id, doc_type, customer_id, doc_date, reference_doc_id, amount
    from documents
    where doc_type in ('receipt', 'credit_note')
),

reversed as (
    select
        reversals.reference_doc_id as doc_id,
        sum(reversals.amount) as reversed_amount,
        max(reversals.doc_date) as last_reversal_date
    from documents as reversals
    inner join credits
        on credits.doc_id = reversals.reference_doc_id
        and credits.customer_id = reversals.customer_id
        and credits.doc_type = 'receipt'
    where reversals.doc_type = 'reversal'
    group by all
)

select
    credits.*,
    coalesce(reversed.reversed_amount, 0) as reversed_amount,
    reversed.last_reversal_date,
    greatest(credits.amount - coalesce(reversed.reversed_amount, 0), 0) as effective_amount,
    {{ ledger_bucket_column('credits.customer_id', leading=false) }}
    {{ ledger_through() }} as ledger_through
from credits
left join reversed using (doc_id)
