{#
  A test's `where` config with `__as_of_date__` standing for the run's business date
  (as_of_date()), e.g. `where: "as_of_date = __as_of_date__"`. dbt renders a test's config
  while it parses the project, where only built-in macros may be used; the placeholder is
  replaced when the test runs, so a new date does not make dbt parse the project again.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__as_of_date__', as_of_date()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
