{# Spark: the as-of date's partition is overwritten (no delete+insert on Spark) #}
{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite' if target.type == 'spark' else 'delete+insert',
    partition_by=['as_of_date'] if target.type == 'spark' else none,
    file_format='parquet' if target.type == 'spark' else none,
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
    full_refresh=false,
) }}
-- The classes by cumulative share of every customer on the as-of date (F4, F6), by the
-- rule products are classified by too (macros/pareto_class.sql): the ABC class with its
-- rank and cumulative share by 12m net sales, and the revenue and profit grades by 12m net
-- sales and 12m gross margin. The customer tiers read them (pipelines/defs/customer_value).
-- One row set per as-of date, like customer_facts: a run replaces its own date only.
with facts as (
    select customer_id, as_of_date, net_sales_12m, gross_margin_12m
    from {{ ref('customer_facts') }}
    where as_of_date = {{ as_of_date() }}
),

ranked as (
    select
        *,
        {{ pareto_rank('net_sales_12m', 'customer_id') }} as abc_rank,
        {{ pareto_positive_total('net_sales_12m') }} as sales_positive_total,
        {{ pareto_positive_before('net_sales_12m', 'customer_id') }} as sales_positive_before,
        {{ pareto_positive_total('gross_margin_12m') }} as margin_positive_total,
        {{ pareto_positive_before('gross_margin_12m', 'customer_id') }}
            as margin_positive_before
    from facts
),

final as (
    select
        customer_id,
        as_of_date,
        {{ pareto_class(
            'net_sales_12m', 'sales_positive_before', 'sales_positive_total',
            [
                ('A', crm_setting('abc.a_max_cumulative_share')),
                ('B', crm_setting('abc.b_max_cumulative_share')),
            ],
            'C'
        ) }} as abc_class,
        -- INTEGER, the type customer_tiers publishes
        cast(abc_rank as integer) as abc_rank,
        {{ pareto_cumulative_share(
            'net_sales_12m', 'sales_positive_before', 'sales_positive_total'
        ) }} as abc_cumulative_share,
        {{ pareto_class(
            'net_sales_12m', 'sales_positive_before', 'sales_positive_total',
            [
                ('A', crm_setting('grades.a_max_cumulative_share')),
                ('B', crm_setting('grades.b_max_cumulative_share')),
                ('C', crm_setting('grades.c_max_cumulative_share')),
            ],
            'D'
        ) }} as revenue_grade,
        {{ pareto_class(
            'gross_margin_12m', 'margin_positive_before', 'margin_positive_total',
            [
                ('A', crm_setting('grades.a_max_cumulative_share')),
                ('B', crm_setting('grades.b_max_cumulative_share')),
                ('C', crm_setting('grades.c_max_cumulative_share')),
            ],
            'D'
        ) }} as profit_grade
    from ranked
)

select * from final
