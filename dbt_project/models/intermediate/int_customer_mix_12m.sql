-- Each customer's 12m net sales by product price tier and by category, using the product
-- master in force on the as-of date (F11 dominant category, F12 development class).
with sales as (
    select * from {{ ref('stg_erp__sales') }}
    where order_date <= {{ as_of_date() }}
        and order_date > {{ as_of_date() }} - 365
),

products as (
    select product_id, category, price_tier from {{ ref('int_products_in_force') }}
),

by_product as (
    select
        sales.customer_id,
        coalesce(products.category, 'unknown') as category,
        coalesce(products.price_tier, 'unknown') as price_tier,
        sum(sales.net_amount) as net_sales
    from sales
    left join products using (product_id)
    group by all
),

tiers as (
    select
        customer_id,
        coalesce(sum(net_sales) filter (where price_tier = 'low'), 0) as net_sales_12m_low_tier,
        coalesce(sum(net_sales) filter (where price_tier = 'mid'), 0) as net_sales_12m_mid_tier,
        coalesce(sum(net_sales) filter (where price_tier = 'high'), 0) as net_sales_12m_high_tier
    from by_product
    group by customer_id
),

categories as (
    -- the first row of each customer: a row_number subquery, as Spark 3.5 has no QUALIFY
    select customer_id, category as dominant_category_12m
    from (
        select
            customer_id,
            category,
            row_number() over (
                partition by customer_id order by net_sales desc, category asc
            ) as category_rank
        from (
            select customer_id, category, sum(net_sales) as net_sales
            from by_product
            group by all
        )
        where net_sales > 0
    )
    where category_rank = 1
),

final as (
    select tiers.*, categories.dominant_category_12m
    from tiers
    left join categories using (customer_id)
)

select * from final
