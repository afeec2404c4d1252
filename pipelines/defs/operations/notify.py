"""Alerts for the people who run the pipeline without watching the UI (issue: operations).

Every alert is appended as one JSON line to the alert log (`CRM_ALERT_LOG`, by default
`alerts.log` in DAGSTER_HOME), and posted as JSON to `CRM_ALERT_WEBHOOK_URL` when the
environment names one (a Slack/Teams/DingTalk/WeCom bridge, a pager...); both are read by
pipelines/settings.py. A webhook that cannot be reached never fails the pipeline: the
failure is written to the log instead. An alert log that cannot be written (a full disk, a
read-only folder) never fails it either: the alert goes to the process's log (stderr)
instead. Alerts carry run ids, dates, file and check names, never data values.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import datetime

from pipelines.settings import alert_log_path, alert_webhook_url

log = logging.getLogger(__name__)


def notify(kind: str, summary: str, **details) -> dict:
    """Record one alert (kind: run_failed, checks_warned, delivery_late, ...) and post it.

    Never raises: what could not be done is logged (and, for the webhook, recorded in the
    alert as `webhook`)."""
    alert = {
        "at": datetime.now().isoformat(timespec="seconds"),
        "kind": kind,
        "summary": summary,
        **details,
    }
    url = alert_webhook_url()
    if url:
        alert["webhook"] = _post(url, alert)
    line = json.dumps(alert, ensure_ascii=False, default=str)
    try:
        path = alert_log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as alert_log:
            alert_log.write(line + "\n")
    except (OSError, ValueError) as exc:  # a full disk, a read-only or missing folder
        log.error("alert not written to the alert log (%s): %s", exc, line)
    return alert


def _post(url: str, alert: dict) -> str:
    """POST the alert; 'sent' or why not."""
    body = json.dumps(alert, ensure_ascii=False, default=str).encode("utf-8")
    try:
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return "sent" if 200 <= response.status < 300 else f"HTTP {response.status}"
    except (OSError, ValueError) as exc:  # unreachable, refused, timed out, HTTP errors, bad URL
        return f"not sent: {exc}"
