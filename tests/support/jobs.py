"""The daily job as Dagster reconstructs it in a run worker (`dg.reconstructable`)."""

import dagster as dg


def daily_job() -> dg.JobDefinition:
    from pipelines.definitions import DAILY_JOB, defs

    return defs.resolve_job_def(DAILY_JOB)
