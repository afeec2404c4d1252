{# Bookkeeping of the unique_in_latest_build tests (tests/generic): the newest watermark of
   the model each test last passed on, in main.unique_in_latest_build_passes. #}

{% macro unique_in_latest_build_key(relation, columns) -%}
    {{ return(relation.schema ~ '.' ~ relation.identifier ~ ' (' ~ columns | join(', ') ~ ')') }}
{%- endmacro %}

{# The watermark recorded when the test of `columns` on `model` last passed, as a string;
   none before its first pass. #}
{% macro unique_in_latest_build_passed_through(model, columns) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set passes = adapter.get_relation(
        database=target.database, schema=target.schema, identifier='unique_in_latest_build_passes'
    ) -%}
    {%- if passes is none -%}{{ return(none) }}{%- endif -%}
    {%- set result = run_query(
        "select cast(passed_through as string) from " ~ passes
        ~ " where test_key = '" ~ unique_in_latest_build_key(model, columns) ~ "'"
        ~ " order by recorded_at desc limit 1"
    ) -%}
    {{ return(result.columns[0].values()[0] if result.rows | length > 0 else none) }}
{%- endmacro %}

{# on-run-end: for each unique_in_latest_build test that passed in this invocation, record
   its model's newest watermark (nothing writes a model after its tests in one build). A
   failed, erred or skipped test records nothing, so its next run checks again everything
   written since its last pass. #}
{% macro record_unique_in_latest_build_passes(results) -%}
    {%- if execute -%}
    {%- set statements = [] -%}
    {%- for result in results -%}
        {#- the graph's nodes are dicts: only generic tests carry test_metadata -#}
        {%- set node = graph.nodes.get(result.node.unique_id, {}) -%}
        {%- set metadata = node.get('test_metadata') or {} -%}
        {%- if result.status == 'pass' and metadata.get('name') == 'unique_in_latest_build' -%}
            {%- set tested = graph.nodes[node['attached_node']] -%}
            {%- set relation = api.Relation.create(
                database=tested.database, schema=tested.schema, identifier=tested.alias
            ) -%}
            {%- set kwargs = metadata['kwargs'] -%}
            {%- set key = unique_in_latest_build_key(relation, kwargs['columns']) -%}
            {%- do statements.append(
                "select '" ~ key ~ "', cast(max(" ~ kwargs.get('watermark', 'changes_through')
                ~ ") as timestamp), current_timestamp from " ~ relation
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if statements -%}
        {{ return(adapter.dispatch('write_unique_in_latest_build_passes')(statements)) }}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{# `passes` are queries of one row (test_key, passed_through, recorded_at): DuckDB replaces
   each key's row in one multi-statement hook. #}
{% macro default__write_unique_in_latest_build_passes(passes) -%}
        create table if not exists {{ target.schema }}.unique_in_latest_build_passes (
            test_key varchar primary key,
            passed_through timestamp,
            recorded_at timestamp with time zone
        );
        {% for pass in passes -%}
        insert or replace into {{ target.schema }}.unique_in_latest_build_passes {{ pass }};
        {%- if not loop.last %}{{ '\n' }}{% endif %}
        {%- endfor -%}
{%- endmacro %}

{# Spark runs one statement per call and has no primary key or INSERT OR REPLACE: the passes
   are appended and the reader takes each key's latest (order by recorded_at). The hook
   itself runs nothing more. #}
{% macro spark__write_unique_in_latest_build_passes(passes) -%}
    {%- do run_query("create database if not exists " ~ target.schema) -%}
    {%- do run_query(
        "create table if not exists " ~ target.schema ~ ".unique_in_latest_build_passes "
        ~ "(test_key string, passed_through timestamp, recorded_at timestamp) using parquet"
    ) -%}
    {%- for pass in passes -%}
        {%- do run_query(
            "insert into " ~ target.schema ~ ".unique_in_latest_build_passes " ~ pass
        ) -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}
