{# incremental by as-of date (dbt_project.yml); Spark overwrites the as-of date's partition
   instead of delete+insert #}
{% if target.type == 'spark' %}
{{ config(incremental_strategy='insert_overwrite', partition_by=['as_of_date'], file_format='parquet') }}
{% endif %}
-- AR position per customer and as-of date (F21): balance, unapplied credit, overdue
-- amount and the aging buckets, which add up to the open amount of invoices and reversals;
-- ar_balance = sum of the buckets - unapplied_credit = invoices + reversals - receipts -
-- credit notes. DSO = ar_balance / (net sales of the last 90 days / 90).
with items as (
    -- settled items add nothing to any figure below
    select * from {{ ref('int_ar_items_aged') }}
    where open_amount <> 0
),

facts as (
    select customer_id, net_sales_90d
    from {{ ref('customer_facts') }}
    where as_of_date = {{ as_of_date() }}
),

per_customer as (
    select
        customer_id,
        sum(open_amount) as ar_balance,
        coalesce(-sum(open_amount) filter (where item_type = 'unapplied_credit'), 0)
            as unapplied_credit,
        coalesce(sum(open_amount) filter (
            where days_past_due > 0 and item_type <> 'unapplied_credit'
        ), 0) as overdue_amount,
        coalesce(sum(open_amount) filter (where aging_bucket = 'current'), 0) as ar_current,
        coalesce(sum(open_amount) filter (where aging_bucket = '1_30'), 0) as ar_1_30,
        coalesce(sum(open_amount) filter (where aging_bucket = '31_60'), 0) as ar_31_60,
        coalesce(sum(open_amount) filter (where aging_bucket = '61_90'), 0) as ar_61_90,
        coalesce(sum(open_amount) filter (where aging_bucket = '91_180'), 0) as ar_91_180,
        coalesce(sum(open_amount) filter (where aging_bucket = 'over_180'), 0) as ar_over_180,
        count(*) filter (where aging_bucket is not null) as open_item_count,
        max(days_past_due) filter (where aging_bucket is not null) as max_days_past_due
    from items
    group by customer_id
),

final as (
    select
        facts.customer_id,
        {{ as_of_date() }} as as_of_date,
        coalesce(per_customer.ar_balance, 0) as ar_balance,
        coalesce(per_customer.unapplied_credit, 0) as unapplied_credit,
        coalesce(per_customer.overdue_amount, 0) as overdue_amount,
        coalesce(per_customer.ar_current, 0) as ar_current,
        coalesce(per_customer.ar_1_30, 0) as ar_1_30,
        coalesce(per_customer.ar_31_60, 0) as ar_31_60,
        coalesce(per_customer.ar_61_90, 0) as ar_61_90,
        coalesce(per_customer.ar_91_180, 0) as ar_91_180,
        coalesce(per_customer.ar_over_180, 0) as ar_over_180,
        coalesce(per_customer.open_item_count, 0) as open_item_count,
        coalesce(per_customer.max_days_past_due, 0) as max_days_past_due,
        facts.net_sales_90d,
        {% call round_double(1) %}
            case
                when facts.net_sales_90d > 0
                    then cast(coalesce(per_customer.ar_balance, 0) as double)
                    / (cast(facts.net_sales_90d as double) / 90)
            end
        {% endcall %} as dso
    from facts
    left join per_customer using (customer_id)
)

select * from final
