with source as (
    select * from {{ source('raw', 'products') }}
),

renamed as (
    select
        product_id,
        _business_date as snapshot_date,
        product_name,
        category,
        price_tier,
        unit,
        list_price,
        unit_cost,
        launch_date
    from source
)

select * from renamed
