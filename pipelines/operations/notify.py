"""Alerts for the people who run the pipeline without watching the UI (issue: operations).

Every alert is appended as one JSON line to the alert log (`CRM_ALERT_LOG`, by default
`alerts.log` in DAGSTER_HOME), and posted as JSON to `CRM_ALERT_WEBHOOK_URL` when the
environment names one (a Slack/Teams/DingTalk/WeCom bridge, a pager...). A webhook that
cannot be reached never fails the pipeline: the failure is written to the log instead.
Alerts carry run ids, dates, file and check names, never data values.
"""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import datetime
from pathlib import Path

ALERT_LOG_ENV = "CRM_ALERT_LOG"
WEBHOOK_ENV = "CRM_ALERT_WEBHOOK_URL"


def alert_log_path() -> Path:
    configured = os.environ.get(ALERT_LOG_ENV)
    if configured:
        return Path(configured)
    return Path(os.environ.get("DAGSTER_HOME", ".dagster")) / "alerts.log"


def notify(kind: str, summary: str, **details) -> dict:
    """Record one alert (kind: run_failed, checks_warned, delivery_late, ...) and post it."""
    alert = {
        "at": datetime.now().isoformat(timespec="seconds"),
        "kind": kind,
        "summary": summary,
        **details,
    }
    path = alert_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    url = os.environ.get(WEBHOOK_ENV)
    if url:
        alert["webhook"] = _post(url, alert)
    with path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(alert, ensure_ascii=False, default=str) + "\n")
    return alert


def _post(url: str, alert: dict) -> str:
    """POST the alert; 'sent' or why not."""
    body = json.dumps(alert, ensure_ascii=False, default=str).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return "sent" if 200 <= response.status < 300 else f"HTTP {response.status}"
    except OSError as exc:  # unreachable, refused, timed out, HTTP errors
        return f"not sent: {exc}"
