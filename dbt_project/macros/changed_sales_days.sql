{# Incremental compaction of the order lines (SPEC §4; daily cost independent of history).
   Every sales file holds one order date (its business date), so the order dates whose lines
   changed are the business dates of the sales files loaded (new or corrected) after the
   compact model's watermark: the latest delivery_manifest.loaded_at it has already seen,
   kept on its rows as `changes_through`. Reprocessing a day is idempotent, so a watermark
   that lags (a failed build, a day emptied by a correction) only costs time. #}

{% macro sales_watermark() -%}
    {%- if execute and is_incremental() -%}
        {%- set result = run_query(
            "select cast(max(changes_through) as varchar) from " ~ this
        ) -%}
        {{ return(result.columns[0].values()[0]) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{# The changed order dates as a list of 'YYYY-MM-DD' strings (rendered into the SQL as
   literals, so DuckDB prunes the line table by its zone maps). #}
{% macro changed_sales_days() -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set watermark = sales_watermark() -%}
    {%- set query -%}
        select distinct cast(business_date as varchar)
        from {{ source('raw', 'delivery_manifest') }}
        where extract = 'sales'
        {%- if watermark is not none %}
            and loaded_at > cast('{{ watermark }}' as timestamp)
        {%- endif %}
        order by 1
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{# A SQL condition true for the dates in `days` (a list of 'YYYY-MM-DD'); false when empty. #}
{% macro date_in(column, days) -%}
    {%- if days | length == 0 -%}
        false
    {%- else -%}
        ({{ column }} between cast('{{ days | first }}' as date) and cast('{{ days | last }}' as date)
        and {{ column }} in ({% for day in days %}cast('{{ day }}' as date){{ ", " if not loop.last }}{% endfor %}))
    {%- endif -%}
{%- endmacro %}

{# The latest load of sales files: the watermark the rows built now carry. #}
{% macro sales_changes_through() -%}
    (select max(loaded_at) from {{ source('raw', 'delivery_manifest') }} where extract = 'sales')
{%- endmacro %}

{# Pre-hook of a compact model: delete the rows of the changed days (or of their months,
   for monthly grain) before the model appends them again. #}
{% macro delete_changed_sales(date_column, grain='day') -%}
    {%- if execute and is_incremental() -%}
        {%- set days = changed_sales_days() -%}
        {%- if grain == 'month' -%}
            {%- set days = sales_months(days) -%}
        {%- endif -%}
        delete from {{ this }} where {{ date_in(date_column, days) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{# The first days of the months of `days` ('YYYY-MM-DD' strings in, 'YYYY-MM-01' out). #}
{% macro sales_months(days) -%}
    {%- set months = [] -%}
    {%- for day in days -%}
        {%- set month = day[:7] ~ '-01' -%}
        {%- if month not in months -%}{%- do months.append(month) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(months) }}
{%- endmacro %}
