-- Inputs of key-account supply cover (F18) per customer x product on the as-of date:
-- the channel stock on the customer's latest inventory snapshot on or before it (a product
-- missing from that snapshot has a null stock here: an older figure is not carried forward,
-- and scoring decides whether the ERP's omission means zero stock), and the sell-in (sales
-- quantity and net sales value, net of returns, and the last purchase day) over the last
-- `supply_cover.sell_in_days` days up to it. Days of cover, the key-account filter, the
-- minimum sell-in and the peak-season threshold are applied in scoring.
with snapshots as (
    select * from {{ ref('stg_erp__inventory') }}
    where snapshot_date <= {{ as_of_date() }}
        and not is_distribution_centre
),

latest_snapshot as (
    select customer_id, max(snapshot_date) as stock_snapshot_date
    from snapshots
    group by customer_id
),

stock as (
    select
        latest_snapshot.customer_id,
        latest_snapshot.stock_snapshot_date,
        snapshots.product_id,
        snapshots.quantity_on_hand as stock_quantity
    from latest_snapshot
    left join snapshots
        on snapshots.customer_id = latest_snapshot.customer_id
        and snapshots.snapshot_date = latest_snapshot.stock_snapshot_date
),

sell_in as (
    select
        customer_id,
        product_id,
        sum(quantity) as sell_in_quantity,
        sum(net_amount) as sell_in_value,
        max(order_date) filter (where quantity > 0) as last_purchase_date
    from {{ ref('stg_erp__sales') }}
    where order_date <= {{ as_of_date() }}
        and order_date > {{ as_of_date() }} - {{ crm_setting('supply_cover.sell_in_days') }}
    group by all
)

select
    customer_id,
    product_id,
    coalesce(stock.stock_snapshot_date, latest_snapshot.stock_snapshot_date)
        as stock_snapshot_date,
    stock.stock_quantity,
    coalesce(sell_in.sell_in_quantity, 0) as sell_in_quantity,
    coalesce(sell_in.sell_in_value, 0) as sell_in_value,
    sell_in.last_purchase_date,
    {{ crm_setting('supply_cover.sell_in_days') }} as sell_in_days
from stock
full join sell_in using (customer_id, product_id)
left join latest_snapshot using (customer_id)
