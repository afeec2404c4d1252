{# incremental by as-of date (dbt_project.yml); Spark overwrites the as-of date's partition
   instead of delete+insert #}
{% if target.type == 'spark' %}
{{ config(incremental_strategy='insert_overwrite', partition_by=['as_of_date'], file_format='parquet') }}
{% endif %}
-- Customer facts (F1) per customer and as-of date. One row per customer in the master
-- in force on the as-of date, plus any customer with sales or AR documents on or before it.
-- "12m" is the trailing 365 days up to and including the as-of date; "prior 12m" the 365
-- days before that. Orders, order days, active months and first/last order dates count
-- purchases (lines with a positive quantity): a day with only returns is not a purchase
-- (F7 recency and frequency, F8 purchase days); amounts count every line, returns included.
-- Reads compact facts, not the order lines: lifetime figures from the customer-month facts
-- (int_sales_customer_months_to_date), the 24-month windows from the customer-day facts.
with customers as (
    select * from {{ ref('int_customers_in_force') }}
),

months as (
    select * from {{ ref('int_sales_customer_months_to_date') }}
),

days as (
    select * from {{ ref('int_sales_customer_daily') }}
    where order_date > {{ as_of_date() }} - 730 and order_date <= {{ as_of_date() }}
),

mix as (
    select * from {{ ref('int_customer_mix_12m') }}
),

complaints as (
    select * from {{ ref('int_customer_complaints') }}
),

intervals as (
    select * from {{ ref('int_customer_order_intervals') }}
),

documents as (
    -- customers with AR documents dated on or before the as-of date: the ledger's
    -- fingerprints of this build, not another scan of every payment document
    select customer_id from {{ ref('int_ar_ledger_customers') }}
    where document_count > 0
),

windowed as (
    select
        *,
        order_date > {{ as_of_date() }} - 365 as in_12m,
        order_date > {{ as_of_date() }} - 730
        and order_date <= {{ as_of_date() }} - 365
            as in_prior_12m,
        order_date > {{ as_of_date() }} - 90 as in_90d
    from days
),

lifetime as (
    select
        customer_id,
        min(first_purchase_date) as first_order_date,
        max(last_purchase_date) as last_order_date,
        cast(coalesce(sum(purchase_orders), 0) as bigint) as order_count_lifetime,
        cast(sum(purchase_days) as bigint) as order_days_lifetime,
        sum(net_sales) as net_sales_lifetime,
        sum(gross_margin) as gross_margin_lifetime,
        bool_and(has_cost) as has_cost_lifetime,
        -- the first purchase month's first purchase day
        min_by(first_purchase_day_net_sales, first_purchase_date) as first_order_day_net_sales,
        sum(purchase_days_net_sales) as purchase_days_net_sales_lifetime
    from months
    group by customer_id
),

recent as (
    select
        customer_id,
        coalesce(sum(net_sales) filter (where in_12m), 0) as net_sales_12m,
        coalesce(sum(gross_margin) filter (where in_12m), 0) as gross_margin_12m,
        coalesce(sum(cost_amount) filter (where in_12m), 0) as cost_12m,
        bool_and(has_cost) filter (where in_12m) as has_cost_12m,
        cast(coalesce(sum(purchase_orders) filter (where in_12m), 0) as bigint) as order_count_12m,
        count(*) filter (where in_12m and is_purchase_day) as order_days_12m,
        count(distinct date_trunc('month', order_date)) filter (where in_12m and is_purchase_day)
            as active_months_12m,
        coalesce(sum(returns) filter (where in_12m), 0) as returns_12m,
        coalesce(sum(discount_amount) filter (where in_12m), 0) as discounts_12m,
        coalesce(sum(net_sales) filter (where in_prior_12m), 0) as net_sales_prior_12m,
        coalesce(sum(gross_margin) filter (where in_prior_12m), 0) as gross_margin_prior_12m,
        coalesce(sum(net_sales) filter (where in_90d), 0) as net_sales_90d
    from windowed
    group by customer_id
),

per_customer as (
    -- `*` over a `using` join: the key once, then every other column of both sides
    select * from lifetime left join recent using (customer_id)  -- noqa: RF02
),

universe as (
    select customer_id from customers
    union
    select customer_id from per_customer
    union
    select customer_id from documents
),

joined as (
    select
        universe.customer_id,
        {{ as_of_date() }} as as_of_date,
        customers.customer_id is not null as is_in_master,
        customers.customer_type,
        customers.customer_status,
        customers.region,
        customers.province,
        customers.city,
        customers.sales_rep_id,
        customers.onboarding_date,
        customers.payment_terms_days,
        customers.deposit_amount,
        customers.customer_name_key,
        customers.phone_key,
        per_customer.first_order_date,
        per_customer.last_order_date,
        {{ day_diff(as_of_date(), 'per_customer.last_order_date') }} as days_since_last_order,
        coalesce(per_customer.order_count_lifetime, 0) as order_count_lifetime,
        coalesce(per_customer.order_days_lifetime, 0) as order_days_lifetime,
        coalesce(per_customer.net_sales_lifetime, 0) as net_sales_lifetime,
        coalesce(per_customer.gross_margin_lifetime, 0) as gross_margin_lifetime,
        coalesce(per_customer.net_sales_12m, 0) as net_sales_12m,
        coalesce(per_customer.gross_margin_12m, 0) as gross_margin_12m,
        {% call round_double(4) %}
            case
                when per_customer.net_sales_12m > 0
                    then cast(per_customer.gross_margin_12m as double) / per_customer.net_sales_12m
            end
        {% endcall %} as margin_rate_12m,
        coalesce(per_customer.has_cost_12m, false) as has_cost_12m,
        coalesce(per_customer.has_cost_lifetime, false) as has_cost_lifetime,
        coalesce(per_customer.order_count_12m, 0) as order_count_12m,
        coalesce(per_customer.order_days_12m, 0) as order_days_12m,
        coalesce(per_customer.active_months_12m, 0) as active_months_12m,
        coalesce(per_customer.returns_12m, 0) as returns_12m,
        coalesce(per_customer.discounts_12m, 0) as discounts_12m,
        coalesce(per_customer.net_sales_prior_12m, 0) as net_sales_prior_12m,
        coalesce(per_customer.gross_margin_prior_12m, 0) as gross_margin_prior_12m,
        {% call round_double(4) %}
            case
                when per_customer.net_sales_prior_12m > 0
                    then cast(per_customer.net_sales_12m as double)
                    / per_customer.net_sales_prior_12m - 1
            end
        {% endcall %} as growth_rate_12m,
        coalesce(per_customer.net_sales_90d, 0) as net_sales_90d,
        per_customer.first_order_day_net_sales,
        coalesce(per_customer.purchase_days_net_sales_lifetime, 0)
            as purchase_days_net_sales_lifetime,
        coalesce(mix.net_sales_12m_low_tier, 0) as net_sales_12m_low_tier,
        coalesce(mix.net_sales_12m_mid_tier, 0) as net_sales_12m_mid_tier,
        coalesce(mix.net_sales_12m_high_tier, 0) as net_sales_12m_high_tier,
        mix.dominant_category_12m,
        {% call round_double(2) %}
            cast({{ day_diff(
                as_of_date(), 'coalesce(customers.onboarding_date, per_customer.first_order_date)'
            ) }} as double)
            / 365.25{% endcall %} as cooperation_years,
        coalesce(complaints.complaints_12m, 0) as complaints_12m,
        coalesce(complaints.severe_complaints_12m, 0) as severe_complaints_12m,
        {% for complaint_type in complaint_types() %}
        coalesce(complaints.{{ complaint_type }}_complaints_12m, 0)
            as {{ complaint_type }}_complaints_12m,
        {% endfor %}
        coalesce(complaints.open_complaints, 0) as open_complaints,
        {% call round_double(1) %}complaints.avg_days_to_resolve_12m{% endcall %} as avg_days_to_resolve_12m,
        {% call round_double(2) %}complaints.avg_satisfaction_12m{% endcall %} as avg_satisfaction_12m,
        intervals.median_order_interval_days
    from universe
    left join customers using (customer_id)
    left join per_customer using (customer_id)
    left join mix using (customer_id)
    left join complaints using (customer_id)
    left join intervals using (customer_id)
),

final as (
    select
        *,
        {% call round_double(6) %}
            case
                when sum(net_sales_12m) over () <> 0
                    then cast(net_sales_12m as double) / sum(net_sales_12m) over ()
            end
        {% endcall %} as share_of_company_12m
    from joined
)

select * from final
