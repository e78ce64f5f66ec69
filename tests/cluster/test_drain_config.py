"""The production stack gives a draining process the time its drain takes (docs/CLUSTER.md)."""

import re

import yaml

from tests.live import ROOT


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", value)
    assert match, value
    return float(match.group(1)) * (60 if match.group(2) == "m" else 1)


def test_docker_stops_a_web_process_only_after_its_drain_timeout() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web = [s for name, s in compose["services"].items() if name.startswith("web")]
    assert web
    for service in web:
        drain = re.fullmatch(r"\$\{DRAIN_TIMEOUT_S:-(\d+)\}", service["environment"]["DRAIN_TIMEOUT_S"])
        assert drain, service["environment"]
        assert seconds(service["stop_grace_period"]) > float(drain.group(1)) + 10
