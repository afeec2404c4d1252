-- Customer master snapshots without PII: names, contacts, phone, address and legal
-- representative stop here and never reach a model BI can read. The keyed hashes of the
-- name and phone (set on arrival under a secret from the environment) go on as join keys.
with source as (
    select * from {{ source('raw', 'customers') }}
),

renamed as (
    select
        customer_id,
        _business_date as snapshot_date,
        customer_type,
        status as customer_status,
        region,
        province,
        city,
        sales_rep_id,
        onboarding_date,
        payment_terms_days,
        deposit_amount,
        customer_name_key,
        phone_key
    from source
)

select * from renamed
