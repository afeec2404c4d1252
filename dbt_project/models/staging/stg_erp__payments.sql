-- AR documents; cancelled documents never existed for the ledger.
with source as (
    select * from {{ source('raw', 'payments') }}
),

renamed as (
    select
        doc_id,
        doc_type,
        customer_id,
        doc_date,
        due_date,
        amount,
        method as payment_method,
        reference_doc_id,
        _file_name as file_name,
        _line_number as line_number
    from source
    where status = 'posted'
)

select * from renamed
