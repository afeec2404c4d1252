with source as (
    select * from {{ source('raw', 'sales') }}
),

renamed as (
    select
        order_id,
        line_no,
        order_date,
        customer_id,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        net_amount,
        cost_amount,
        net_amount - coalesce(cost_amount, 0) as gross_margin,
        cost_amount is not null as has_cost,
        quantity < 0 as is_return,
        quantity > 0 as is_purchase,
        sales_rep_id,
        promotion_id,
        _file_name as file_name,
        _line_number as line_number
    from source
)

select * from renamed
