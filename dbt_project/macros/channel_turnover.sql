{# Channel inventory turnover (F16) of the months in `snapshots`, a relation of
   (customer_id, product_id, month, quantity_on_hand) holding the last snapshot of each month,
   and `sales` (customer_id, product_id, month, sales_quantity). Average inventory = (stock at
   month start + stock at month end) / 2, the month-start stock being the previous month's
   last snapshot; a gap in the snapshots leaves it unknown (0 is not assumed). #}
{% macro channel_turnover(snapshots, sales) -%}
select
    *,
    cast(stock_start + stock_end as double) / 2 as average_inventory,
    case when (stock_start + stock_end) > 0
        then {% call round_double(4) %}cast(sales_quantity as double) / (cast(stock_start + stock_end as double) / 2){% endcall %}
    end as turnover
from (
    select
        month_ends.customer_id,
        month_ends.product_id,
        month_ends.month,
        case when month_ends.previous_month = month_ends.month - interval 1 month
            then month_ends.stock_start end as stock_start,
        month_ends.stock_end,
        coalesce(sales.sales_quantity, 0) as sales_quantity
    from (
        select
            customer_id,
            product_id,
            month,
            quantity_on_hand as stock_end,
            lag(quantity_on_hand) over (
                partition by customer_id, product_id order by month
            ) as stock_start,
            lag(month) over (partition by customer_id, product_id order by month)
                as previous_month
        from {{ snapshots }}
    ) as month_ends
    left join {{ sales }} as sales using (customer_id, product_id, month)
)
{%- endmacro %}

{# The last channel snapshot of each customer, product and month among the inventory rows
   matching `where` (the DC is not a channel). #}
{% macro month_end_snapshots(where) -%}
{#- a row_number subquery, as Spark 3.5 has no QUALIFY -#}
select customer_id, product_id, month, quantity_on_hand
from (
    select
        customer_id,
        product_id,
        cast(date_trunc('month', snapshot_date) as date) as month,
        quantity_on_hand,
        row_number() over (
            partition by customer_id, product_id, date_trunc('month', snapshot_date)
            order by snapshot_date desc
        ) as snapshot_rank
    from {{ ref('stg_erp__inventory') }}
    where not is_distribution_centre and {{ where }}
)
where snapshot_rank = 1
{%- endmacro %}

{# Months of int_channel_turnover_whole_months to rebuild: those holding a sales or
   inventory date loaded since its last build, and the month after each changed inventory
   month (whose start stock is that month's last snapshot). #}
{% macro turnover_months_to_rebuild() -%}
    {%- set stock = months_of(changed_days(['inventory'])) -%}
    {{ return((months_of(changed_days(['sales'])) + stock + shifted_months(stock, 1)) | unique | sort) }}
{%- endmacro %}

{# Channel turnover of a product and month from its customers' rows (F16): sales and average
   inventory of the customers that held stock. Use with `group by product_id, month`. #}
{% macro channel_turnover_per_product() -%}
        sum(sales_quantity) filter (where average_inventory > 0) as channel_sales_quantity,
        sum(average_inventory) filter (where average_inventory > 0) as channel_average_inventory
{%- endmacro %}
