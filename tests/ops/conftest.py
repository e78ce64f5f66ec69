"""Helpers for the operations endpoints: plain HTTP against a live server, Prometheus text parsed."""

import json
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET (error statuses included, never raised)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def get_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    status, _headers, body = http_get(url, headers)
    return status, json.loads(body)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page by (name, sorted labels)."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(page: dict, name: str, **labels: str) -> float:
    return page[(name, tuple(sorted(labels.items())))]
