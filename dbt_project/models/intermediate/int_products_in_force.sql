-- The product master in force on the as-of date: the latest snapshot on or before it.
{{ snapshot_in_force('stg_erp__products') }}
