"""Fixtures of the trunk tests: a live server with SIP on (`trunk_server`, one per module) and a
`TrunkLab` around it per test (tests/trunks/live.py)."""

from tests.trunks.live import lab, trunk_server

__all__ = ["lab", "trunk_server"]
