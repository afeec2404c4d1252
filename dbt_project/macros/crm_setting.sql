{#
  A value of the business configuration (config/crm.yaml), by its dotted path, e.g.
  crm_setting('abc.a_max_cumulative_share').

  The pipeline passes the whole validated configuration as one variable,
  `--vars '{crm_config: {...}}'` (pipelines/defs/transform/dbt_vars.py; `crm-pipeline
  dbt-vars` prints it for a build by hand): the models read the very values the Python rules
  read, and there is no second copy of them here. Parsing needs no value; a node run without
  the configuration stops with a message. An empty configuration (`{}`, as the SQL linter
  passes it) renders null: the SQL is read, never run.
#}
{% macro crm_setting(path) -%}
    {%- set settings = var('crm_config', none) -%}
    {%- if settings is string -%}
        {%- set settings = fromjson(settings) -%}
    {%- endif -%}
    {%- if settings is none -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error(
                "No configuration: pass --vars '{crm_config: ...}' (crm-pipeline dbt-vars "
                ~ "prints it) to read " ~ path
            ) }}
        {%- endif -%}
        {{ return("null") }}
    {%- endif -%}
    {%- if settings == {} -%}
        {{ return("null") }}
    {%- endif -%}
    {%- set value = namespace(at=settings) -%}
    {%- for key in path.split('.') -%}
        {%- if key not in value.at -%}
            {{ exceptions.raise_compiler_error("config/crm.yaml has no " ~ path) }}
        {%- endif -%}
        {%- set value.at = value.at[key] -%}
    {%- endfor -%}
    {%- if value.at is string -%}
        {{ return("'" ~ value.at | replace("'", "''") ~ "'") }}
    {%- endif -%}
    {{ return(value.at) }}
{%- endmacro %}
