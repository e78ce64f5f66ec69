"""The trunk service: settings → user agent, database trunks → configs, registration state → admin."""

from __future__ import annotations

from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured

from tests.sip.conftest import wait_for
from tests.sip.sipp import Sipp
from tests.sip.test_sipp_uas import TIMERS
from zorio_widget.tenants.models import Tenant
from zorio_widget.trunks.models import Did, Trunk
from zorio_widget.trunks.service import TrunkService, parse_sip_bind

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(("value", "expected"), [
    ("0.0.0.0:5060", ("0.0.0.0", 5060)), ("127.0.0.1:0", ("127.0.0.1", 0)), ("[::1]:5070", ("::1", 5070)),
    ("off", None), ("OFF", None),
])
def test_sip_bind_values(value: str, expected: tuple[str, int] | None) -> None:
    assert parse_sip_bind(value) == expected


@pytest.mark.parametrize("value", ["", "5060", "example.com:5060", "127.0.0.1:99999", "127.0.0.1:x", "on"])
def test_bad_sip_bind_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        parse_sip_bind(value)


def test_sip_bind_off_starts_nothing(settings) -> None:
    settings.SIP_BIND = "off"
    assert TrunkService.from_settings() is None


@pytest.mark.django_db(transaction=True)
async def test_a_registering_trunk_shows_its_state_and_changes_apply_without_restart(
        tenant: Tenant, settings, tmp_path: Path) -> None:
    settings.SIP_BIND, settings.RTP_PORT_MIN, settings.RTP_PORT_MAX = "127.0.0.1:0", 44000, 44099
    sipp = await Sipp("uas_register.xml", tmp_path).start()
    trunk = await Trunk.objects.acreate(tenant=tenant, name="carrier", host="127.0.0.1", port=sipp.port,
                                        username="acct", password="s3cret!", register=True)
    service = TrunkService.from_settings(timers=TIMERS, register_retry_s=(0.5, 2.0))
    assert service is not None
    await service.start()
    try:
        assert service.ua.port != 0 and list(service.ua.agents) == [str(trunk.pk)]

        async def state() -> str:
            return (await Trunk.objects.aget(pk=trunk.pk)).registration_state
        await wait_for(lambda: service.ua.agents[str(trunk.pk)].registerer.registrations >= 1, within=10)
        await wait_for(lambda: not service._tasks, within=5)
        assert await state() == "registered"
        await sipp.finish()

        other = await Trunk.objects.acreate(tenant=tenant, name="pbx", host="127.0.0.1", port=5999)
        await sync_to_async(Did.objects.create)(trunk=other, number="+84900", target="1001")
        await wait_for(lambda: str(other.pk) in service.ua.agents
                       and service.ua.agents[str(other.pk)].config.dids == {"+84900": "1001"}, within=5)
    finally:
        await sipp.stop()
        await service.close()
    assert await state() == "unregistered"
