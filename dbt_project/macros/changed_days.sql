{# Incremental compact models (README.md#performance: the daily cost independent of history). Every file of
   a dated extract (sales, inventory) holds one business date, so the dates whose rows
   changed are the business dates of the files loaded (new or corrected) after the model's
   watermark: the latest delivery_manifest.loaded_at it has already seen, kept on its rows
   as `changes_through` (loaded_at only grows, see ingestion.raw_store). Rebuilding a date is
   idempotent, so a watermark that lags (a failed build, a day emptied by a correction)
   only costs time. #}

{% macro watermark(column='changes_through') -%}
    {%- if execute and is_incremental() -%}
        {#- a table built before the column existed has no watermark: rebuild it all -#}
        {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- if column in names -%}
            {%- set result = run_query(
                "select cast(max(" ~ column ~ ") as string) from " ~ this
            ) -%}
            {{ return(result.columns[0].values()[0]) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{# The business dates of `extracts` loaded after this model's watermark, as a sorted list
   of 'YYYY-MM-DD' strings (rendered into SQL as literals, so DuckDB prunes by zone maps). #}
{% macro changed_days(extracts=['sales']) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set since = watermark() -%}
    {%- set query -%}
        select distinct cast(business_date as string)
        from {{ source('raw', 'delivery_manifest') }}
        where extract in ('{{ extracts | join("', '") }}')
        {%- if since is not none %}
            and loaded_at > cast('{{ since }}' as timestamp)
        {%- endif %}
        order by 1
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{# The first days ('YYYY-MM-01') of the months holding `days`, sorted. #}
{% macro months_of(days) -%}
    {%- set months = [] -%}
    {%- for day in days -%}{%- do months.append(day[:7] ~ '-01') -%}{%- endfor -%}
    {{ return(months | unique | sort) }}
{%- endmacro %}

{# Each of `months` ('YYYY-MM-01') moved by `n` months. #}
{% macro shifted_months(months, n) -%}
    {%- set shifted = [] -%}
    {%- for month in months -%}
        {%- set index = (month[:4] | int) * 12 + (month[5:7] | int) - 1 + n -%}
        {%- do shifted.append('%04d-%02d-01' | format(index // 12, index % 12 + 1)) -%}
    {%- endfor -%}
    {{ return(shifted) }}
{%- endmacro %}

{# A SQL condition true for the dates in `days` (sorted 'YYYY-MM-DD'); false when empty. #}
{% macro date_in(column, days) -%}
    {%- if days | length == 0 -%}
        false
    {%- else -%}
        ({{ column }} between cast('{{ days | first }}' as date) and cast('{{ days | last }}' as date)
        and {{ column }} in ({% for day in days %}cast('{{ day }}' as date){{ ", " if not loop.last }}{% endfor %}))
    {%- endif -%}
{%- endmacro %}

{# A SQL condition true for dates inside the calendar months starting on `months`. #}
{% macro date_in_months(column, months) -%}
    {%- if months | length == 0 -%}
        false
    {%- else -%}
        ({%- for month in months %}
        ({{ column }} >= cast('{{ month }}' as date)
            and {{ column }} < cast('{{ month }}' as date) + interval 1 month){{ " or" if not loop.last }}
        {%- endfor %})
    {%- endif -%}
{%- endmacro %}

{# The latest load of `extracts`: the watermark the rows built now carry. #}
{% macro changes_through(extracts=['sales']) -%}
    (select max(loaded_at) from {{ source('raw', 'delivery_manifest') }}
     where extract in ('{{ extracts | join("', '") }}'))
{%- endmacro %}

{# Pre-hook of a compact model: delete the rows of the `dates` (days, or first days of
   months) about to be rebuilt before the model appends them again. #}
{% macro delete_changed(column, dates) -%}
    {{ return(adapter.dispatch('delete_changed')(column, dates)) }}
{%- endmacro %}

{# Spark: insert_overwrite replaces the partitions rebuilt, and Parquet tables cannot delete #}
{% macro spark__delete_changed(column, dates) -%}
    select 1
{%- endmacro %}

{% macro default__delete_changed(column, dates) -%}
    {%- if execute and is_incremental() -%}
        delete from {{ this }} where {{ date_in(column, dates) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{# The watermark of a model built from another compact model (`parent`) rather than from
   the lines: the latest load of `extracts` only when the parent has seen the latest load of
   the extracts it is built from (`parent_extracts`), else the parent's own watermark. A
   child built while its parent lags (a subset run) thus rebuilds the same dates again once
   the parent has caught up. #}
{% macro changes_through_after(parent, extracts=['sales'], parent_extracts=['sales']) -%}
    (select case when parent_seen >= parent_loaded then latest_loaded else parent_seen end
     from (
        select
            (select max(changes_through) from {{ parent }}) as parent_seen,
            {{ changes_through(parent_extracts) }} as parent_loaded,
            {{ changes_through(extracts) }} as latest_loaded
     ))
{%- endmacro %}
