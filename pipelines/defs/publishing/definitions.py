"""Publishing: the reporting tables of the warehouse file BI tools read, and the report."""

import dagster as dg

from pipelines.defs.publishing.assets import published_warehouse

defs = dg.Definitions(assets=[published_warehouse])
