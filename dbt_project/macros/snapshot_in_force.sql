{# Master data in force on the as-of date (docs/analyses.md#conventions): the whole latest snapshot delivered on
   or before it. Its date is looked up first and written into the query as a literal, so
   DuckDB reads only the row groups of that snapshot (raw rows are appended file by file)
   instead of every snapshot ever delivered. #}
{% macro snapshot_in_force(staging_model) -%}
{%- set latest = none -%}
{%- if execute -%}
    {%- set result = run_query(
        "select cast(max(snapshot_date) as string) from " ~ ref(staging_model)
        ~ " where snapshot_date <= " ~ as_of_date()
    ) -%}
    {%- set latest = result.columns[0].values()[0] -%}
{%- endif %}
select * from {{ ref(staging_model) }}
{%- if latest is none %}
where false
{%- else %}
where snapshot_date = cast('{{ latest }}' as date)
{%- endif %}
{%- endmacro %}
