{{ config(materialized='view') }}
-- Net sales, gross margin and quantity per customer, product and month up to the as-of
-- date: whole months before the as-of month from the compact monthly table, the as-of month
-- from its lines up to and including the as-of date (so a backfilled as-of date does not
-- see later days of its month).
with whole_months as (
    select customer_id, product_id, month, net_sales, gross_margin, quantity
    from {{ ref('int_sales_customer_product_monthly') }}
    where month < cast(date_trunc('month', {{ as_of_date() }}) as date)
),

as_of_month as (
    select
        customer_id,
        product_id,
        cast(date_trunc('month', order_date) as date) as month,
        sum(net_amount) as net_sales,
        sum(gross_margin) as gross_margin,
        sum(quantity) as quantity
    from {{ ref('stg_erp__sales') }}
    where order_date >= cast(date_trunc('month', {{ as_of_date() }}) as date)
        and order_date <= {{ as_of_date() }}
    group by all
)

select * from whole_months
union all
select * from as_of_month
