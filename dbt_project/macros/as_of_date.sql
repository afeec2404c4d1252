{#
  The run's business date as a SQL date literal; windows are relative to it (docs/analyses.md#conventions).

  Taken from `--vars '{as_of_date: YYYY-MM-DD}'` when given (ad-hoc builds, unit tests), else
  from the CRM_AS_OF_DATE environment variable, which the pipeline sets for its dbt build.
  The variable is read only when a node runs, never while dbt parses the project: a new
  business date leaves the parsed project as it was, so the daily build parses only what
  changed instead of the whole project (a changed --vars value forces a full parse).
#}
{% macro as_of_date() -%}
    {%- set given = var('as_of_date', none) -%}
    {%- if given is none and execute -%}
        {%- set given = env_var('CRM_AS_OF_DATE', '') -%}
        {%- if not given -%}
            {{ exceptions.raise_compiler_error(
                "No as-of date: pass --vars '{as_of_date: YYYY-MM-DD}' or set CRM_AS_OF_DATE"
            ) }}
        {%- endif -%}
    {%- endif -%}
    {#- while parsing, any date: the SQL is only inspected, never run -#}
    cast('{{ given or "1970-01-01" }}' as date)
{%- endmacro %}
