with source as (
    select * from {{ source('raw', 'complaints') }}
),

renamed as (
    select
        complaint_id,
        customer_id,
        received_date,
        type as complaint_type,
        severity,
        resolved_date,
        satisfaction_score
    from source
)

select * from renamed
