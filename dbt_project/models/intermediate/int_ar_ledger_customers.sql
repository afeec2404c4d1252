{# Spark: the buckets of the changed customers overwrite their partitions (macros/ar_ledger.sql),
   their unchanged customers' rows copied as stored #}
{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite' if target.type == 'spark' else 'delete+insert',
    partition_by=['customer_bucket'] if target.type == 'spark' else none,
    file_format='parquet' if target.type == 'spark' else none,
    unique_key='customer_id',
    on_schema_change='append_new_columns',
) }}
-- One row per customer that has (or had) AR documents: a fingerprint of its documents dated
-- on or before the as-of date, and when a run last saw it change (see macros/ar_ledger.sql).
-- A run writes only the customers whose fingerprint changed: new documents, corrected or
-- cancelled ones, or a different as-of date that shows or hides some. A customer whose
-- documents all vanish keeps a row with a count of 0, so its ledger rows are deleted.
with documents as (
    select
        customer_id,
        count(*) as document_count,
        sum(amount) as document_amount,
        {{ rows_fingerprint(
            ['doc_id', 'doc_type', 'doc_date', 'due_date', 'amount', 'reference_doc_id']
        ) }} as document_hash
    from {{ ref('stg_erp__payments') }}
    where doc_date <= {{ as_of_date() }}
    group by customer_id
),

{% if is_incremental() %}
changed as (
    select
        customer_id,
        coalesce(documents.document_count, 0) as document_count,
        coalesce(documents.document_amount, 0) as document_amount,
        coalesce(documents.document_hash, 0) as document_hash
    from documents
    full outer join {{ this }} as stored using (customer_id)
    where coalesce(documents.document_count, 0) <> coalesce(stored.document_count, 0)
        or coalesce(documents.document_amount, 0) <> coalesce(stored.document_amount, 0)
        or coalesce(documents.document_hash, 0) <> coalesce(stored.document_hash, 0)
),
{% else %}
changed as (
    select * from documents
),
{% endif %}

final as (
    select
        customer_id,
        document_count,
        cast(document_amount as decimal(18, 2)) as document_amount,
        document_hash,
        {{ as_of_date() }} as seen_as_of_date,
        {{ ledger_run_started_at() }} as ledger_built_at
    from changed
)

select *{{ ledger_bucket_column() }} from final
{%- if target.type == 'spark' and is_incremental() %}
-- the other customers of the buckets overwritten, as stored
union all
select
    customer_id,
    document_count,
    document_amount,
    document_hash,
    seen_as_of_date,
    ledger_built_at,
    customer_bucket
from {{ this }}
where customer_bucket in (select {{ ledger_bucket() }} from changed)
    and customer_id not in (select customer_id from changed)
{%- endif %}
