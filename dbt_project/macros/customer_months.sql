{# The customer-day facts (int_sales_customer_daily) of a month rolled up to one row: what
   lifetime figures (F1) and the monthly tables (F2, F19) need. Rolling the months up again
   gives the figures of the whole span (sums, bool_and, min/max, the first purchase day's
   net sales by min_by over first_purchase_date). Use with `group by customer_id, month`; the
   list ends without a comma (Spark allows none before FROM). #}
{% macro customer_month_figures() -%}
        customer_id,
        cast(date_trunc('month', order_date) as date) as month,
        sum(net_sales) as net_sales,
        sum(gross_margin) as gross_margin,
        bool_and(has_cost) as has_cost,
        sum(orders) as orders,
        sum(purchase_orders) as purchase_orders,
        count(*) filter (where is_purchase_day) as purchase_days,
        sum(net_sales) filter (where is_purchase_day) as purchase_days_net_sales,
        min(order_date) filter (where is_purchase_day) as first_purchase_date,
        max(order_date) filter (where is_purchase_day) as last_purchase_date,
        -- one row per customer and day: the first purchase day's row
        min_by(net_sales, order_date) filter (where is_purchase_day)
            as first_purchase_day_net_sales
{%- endmacro %}
