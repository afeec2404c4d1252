with source as (
    select * from {{ source('raw', 'targets') }}
),

renamed as (
    select
        period,
        customer_id,
        region,
        product_id,
        target_net_sales,
        _business_date as delivered_date
    from source
)

select * from renamed
