"""Builders shared by the HttpAPI tests."""

from __future__ import annotations

from typing import Any

from pytest_httpserver import HTTPServer

from toucan_connectors.http_api import HttpAPIConnector, HttpAPIDataSource
from toucan_connectors.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=3, wait_time=0.01, max_wait=0.01, jitter=0.0, max_delay=5.0)


def make_connector(httpserver: HTTPServer, **fields: Any) -> HttpAPIConnector:
    fields.setdefault("retry_policy", FAST)
    return HttpAPIConnector(name="api", baseroute=httpserver.url_for("/api"), **fields)


def make_source(**fields: Any) -> HttpAPIDataSource:
    return HttpAPIDataSource.model_validate({"name": "api", "domain": "things", **fields})
