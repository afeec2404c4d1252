-- The prospect list in force on the as-of date: the latest snapshot on or before it
-- (empty when the optional prospects extract has not landed).
{{ snapshot_in_force('stg_erp__prospects') }}
