-- Prospect snapshots without the prospect's name (PII); its keyed hash goes on as a join key.
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
        name_key
    from source
)

select * from renamed
