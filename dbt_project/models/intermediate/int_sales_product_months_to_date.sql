{{ config(materialized='view') }}
-- Net sales, gross margin, quantity and customers per product and month up to the as-of
-- date: whole months before the as-of month from the compact product x month table, the
-- as-of month from the customer x product facts of that month up to the as-of date.
with whole_months as (
    select product_id, month, net_sales, gross_margin, quantity, customers
    from {{ ref('int_sales_product_monthly') }}
    where month < cast(date_trunc('month', {{ as_of_date() }}) as date)
),

as_of_month as (
    select
        product_id,
        month,
        sum(net_sales) as net_sales,
        sum(gross_margin) as gross_margin,
        sum(quantity) as quantity,
        count(distinct customer_id) as customers
    from {{ ref('int_sales_customer_product_months_to_date') }}
    where month = cast(date_trunc('month', {{ as_of_date() }}) as date)
    group by product_id, month
)

select * from whole_months
union all
select * from as_of_month
