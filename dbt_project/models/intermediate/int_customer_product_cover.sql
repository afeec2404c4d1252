-- Inputs of key-account supply cover (SPEC F18) per customer x product on the as-of date:
-- the channel stock of the latest snapshot on or before it, and the sell-in (sales quantity
-- net of returns) over the last `supply_cover_sell_in_days` days up to it. Days of cover,
-- the key-account filter and the peak-season threshold are applied in scoring.
with stock as (
    select
        customer_id,
        product_id,
        snapshot_date as stock_snapshot_date,
        quantity_on_hand as stock_quantity,
    from {{ ref('stg_erp__inventory') }}
    where snapshot_date <= {{ as_of_date() }}
        and not is_distribution_centre
    qualify row_number() over (
        partition by customer_id, product_id order by snapshot_date desc
    ) = 1
),

sell_in as (
    select
        customer_id,
        product_id,
        sum(quantity) as sell_in_quantity,
    from {{ ref('stg_erp__sales') }}
    where order_date <= {{ as_of_date() }}
        and order_date > {{ as_of_date() }} - {{ var('supply_cover_sell_in_days') }}
    group by all
)

select
    customer_id,
    product_id,
    stock.stock_snapshot_date,
    stock.stock_quantity,
    coalesce(sell_in.sell_in_quantity, 0) as sell_in_quantity,
    {{ var('supply_cover_sell_in_days') }} as sell_in_days,
from stock
full join sell_in using (customer_id, product_id)
