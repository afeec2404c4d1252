with source as (
    select * from {{ source('raw', 'inventory') }}
),

renamed as (
    select
        snapshot_date,
        customer_id,
        product_id,
        quantity_on_hand,
        customer_id = 'DC' as is_distribution_centre
    from source
)

select * from renamed
