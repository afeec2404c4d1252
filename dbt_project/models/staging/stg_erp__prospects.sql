-- Prospect snapshots without the prospect's name (PII).
with source as (
    select * from {{ source('raw', 'prospects') }}
),

renamed as (
    select
        prospect_id,
        _business_date as snapshot_date,
        customer_type,
        region,
        lead_source,
        stage,
        expected_monthly_volume,
        last_contact_date,
        visit_count,
        referred_by_customer_id,
    from source
)

select * from renamed
