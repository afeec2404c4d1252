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
-- Invoices as of the run's date (F21) with the due date in force: the latest extension
-- (by doc_date, then doc_id) of the same customer dated on or before the as-of date sets it;
-- an extension naming another customer's invoice moves nothing. Documents dated after the
-- as-of date do not exist yet.
-- Incremental per customer: a run settles again only the customers whose documents changed
-- (macros/ar_ledger.sql).
with documents as (
    select * from {{ ref('stg_erp__payments') }}
    where doc_date <= {{ as_of_date() }} and {{ ledger_customers_to_build() }}
),

latest_extensions as (
    -- the latest of each invoice: a row_number subquery, as Spark 3.5 has no QUALIFY
    select invoice_id, customer_id, extended_due_date
    from (
        select
            reference_doc_id as invoice_id,
            customer_id,
            due_date as extended_due_date,
            row_number() over (
                partition by reference_doc_id, customer_id order by doc_date desc, doc_id desc
            ) as extension_rank
        from documents
        where doc_type = 'extension'
    )
    where extension_rank = 1
),

invoices as (
    select
        documents.doc_id as invoice_id,
        documents.customer_id,
        documents.doc_date,
        documents.due_date as original_due_date,
        coalesce(latest_extensions.extended_due_date, documents.due_date) as due_date,
        documents.amount,
        {{ ledger_through() }} as ledger_through
    from documents
    left join latest_extensions
        on latest_extensions.invoice_id = documents.doc_id
        and latest_extensions.customer_id = documents.customer_id
    where documents.doc_type = 'invoice'
)

select *{{ ledger_bucket_column() }} from invoices
