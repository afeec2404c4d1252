{# The AR ledger is incremental per customer (F21): a customer's invoices, credits,
   applications and items depend only on that customer's documents dated on or before the
   as-of date, so a run settles again only the customers whose documents changed.
   int_ar_ledger_customers keeps a fingerprint of each customer's documents and the time of
   the run that last saw it change (`ledger_built_at`); every ledger model stamps its rows
   with the latest such time it has seen (`ledger_through`, its watermark) and rebuilds the
   customers changed after it. A model that lags (a failed build) rebuilds more next time;
   rebuilding a customer is idempotent. `--full-refresh` settles every customer again. #}

{# The run's start, as a timestamp literal: when a changed fingerprint was seen. #}
{% macro ledger_run_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{# A SQL condition on `column` (a customer id) true for the customers this build of an
   incremental ledger model settles again: all of them on a first or full build. The
   watermark is read once, when the model and its pre-hook are rendered, before the pre-hook
   deletes anything. #}
{% macro ledger_customers_to_build(column='customer_id') -%}
    {%- set since = watermark('ledger_through') if is_incremental() else none -%}
    {%- if since is none -%}
        true
    {%- else -%}
        {{- adapter.dispatch('ledger_customers_changed_since')(column, since) -}}
    {%- endif -%}
{%- endmacro %}

{% macro default__ledger_customers_changed_since(column, since) -%}
        {{ column }} in (
            select customer_id from {{ ref('int_ar_ledger_customers') }}
            where ledger_built_at > cast('{{ since }}' as timestamp)
        )
{%- endmacro %}

{# Spark overwrites whole buckets of customers (ledger_bucket): every customer of a bucket
   holding a changed one is settled again. #}
{% macro spark__ledger_customers_changed_since(column, since) -%}
        {{ ledger_bucket(column) }} in (
            select customer_bucket from {{ ref('int_ar_ledger_customers') }}
            where ledger_built_at > cast('{{ since }}' as timestamp)
        )
{%- endmacro %}

{# The same customers' rows of a parent ledger model (one built before this one). The
   parent settled each of them after its fingerprint changed, so their rows carry a later
   watermark than this model's: a range condition that lets DuckDB skip the row groups of
   everyone else (a customer's rows are always appended together) before the exact test. #}
{% macro ledger_rows_to_build() -%}
    {%- set since = watermark('ledger_through') if is_incremental() else none -%}
    {%- if since is none -%}
        true
    {%- else -%}
        ledger_through > cast('{{ since }}' as timestamp) and {{ ledger_customers_to_build() }}
    {%- endif -%}
{%- endmacro %}

{# Pre-hook of an incremental ledger model: delete the customers about to be settled again.
   A table built before the ledger was incremental gets its watermark column first (DuckDB
   cannot alter a table after deleting from it in the same transaction) and is rebuilt. #}
{% macro delete_ledger_customers() -%}
    {{ return(adapter.dispatch('delete_ledger_customers')()) }}
{%- endmacro %}

{# Spark: insert_overwrite replaces the buckets settled again, and Parquet tables cannot delete #}
{% macro spark__delete_ledger_customers() -%}
    select 1
{%- endmacro %}

{% macro default__delete_ledger_customers() -%}
    {%- if execute and is_incremental() -%}
        {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- if 'ledger_through' not in names -%}
            alter table {{ this }} add column ledger_through timestamp;
        {% endif -%}
        delete from {{ this }} where {{ ledger_customers_to_build() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{# The watermark the rows built now carry: the latest change the fingerprints have seen. #}
{% macro ledger_through() -%}
    (select max(ledger_built_at) from {{ ref('int_ar_ledger_customers') }})
{%- endmacro %}

{# On Spark the ledger models are partitioned by a bucket of the customer (16 of them), the
   unit insert_overwrite replaces: Parquet tables cannot delete single customers. #}
{% macro ledger_bucket(column='customer_id') -%}
    pmod(xxhash64({{ column }}), 16)
{%- endmacro %}

{# `, <bucket> as customer_bucket` on Spark (`<bucket> as customer_bucket,` with
   leading=false, for a line of its own in a select list), the partition column of a ledger
   model; nothing on DuckDB, whose ledger models delete and append single customers. #}
{% macro ledger_bucket_column(column='customer_id', leading=true) -%}
    {%- if target.type == 'spark' -%}
        {{- ', ' if leading }}{{ ledger_bucket(column) }} as customer_bucket{{ '' if leading else ',' }}
    {%- endif -%}
{%- endmacro %}
