{# The run's business date as a SQL date literal; windows are relative to it (SPEC §3). #}
{% macro as_of_date() -%}
    cast('{{ var("as_of_date") }}' as date)
{%- endmacro %}
