{# Achievement against a monthly target, only where the month's sales are all loaded (F2,
   F14, region performance). `history` is int_sales_history_loaded joined to the rows (one
   row: first_sales_date, as_of_date). Three columns:
   - target_achievement: net sales / target for a whole month inside the loaded sales
     history; null before it (no sales were loaded, not zero sales), for the first month
     when the history starts after its first day (part of its sales are missing), and for
     the as-of month unless the as-of date is its last day (the month is in progress);
   - target_achievement_note: why target_achievement is null (null when it is computed);
   - target_achievement_to_date: for the month in progress only, its sales to the as-of
     date / the whole month's target (how far along the month is). #}
{% macro target_achievement_columns(net_sales, target, month, history='history') -%}
        {%- set first_whole_month -%}
            cast((case when day({{ history }}.first_sales_date) = 1
                then {{ history }}.first_sales_date
                else date_trunc('month', {{ history }}.first_sales_date) + interval 1 month
            end) as date)
        {%- endset -%}
        {%- set in_progress -%}
            ({{ month }} = cast(date_trunc('month', {{ history }}.as_of_date) as date)
                and {{ history }}.as_of_date < last_day({{ history }}.as_of_date))
        {%- endset %}
        case when {{ target }} > 0 and {{ month }} >= {{ first_whole_month }}
                and not {{ in_progress }}
            then {% call round_double(4) %}cast({{ net_sales }} as double) / {{ target }}{% endcall %}
        end as target_achievement,
        case
            when {{ target }} is null then 'no target for the month'
            when {{ target }} <= 0 then 'target not positive'
            when {{ history }}.first_sales_date is null then 'no sales loaded'
            when {{ month }} < cast(date_trunc('month', {{ history }}.first_sales_date) as date)
                then 'before the loaded sales history (it starts '
                    || cast({{ history }}.first_sales_date as string) || ')'
            when {{ month }} < {{ first_whole_month }}
                then 'month only partly loaded (the sales history starts '
                    || cast({{ history }}.first_sales_date as string) || ')'
            when {{ in_progress }}
                then 'month in progress (sales to '
                    || cast({{ history }}.as_of_date as string)
                    || '): see target_achievement_to_date'
        end as target_achievement_note,
        case when {{ target }} > 0 and {{ month }} >= {{ first_whole_month }}
                and {{ in_progress }}
            then {% call round_double(4) %}cast({{ net_sales }} as double) / {{ target }}{% endcall %}
        end as target_achievement_to_date
{%- endmacro %}
