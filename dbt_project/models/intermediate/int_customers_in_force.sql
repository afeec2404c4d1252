-- The customer master in force on the as-of date: the latest snapshot delivered on or
-- before it (docs/analyses.md#conventions), whole.
{{ snapshot_in_force('stg_erp__customers') }}
