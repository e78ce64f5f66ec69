"""The trunk admin: registration state shown, the password never rendered and kept when left empty."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from zorio_widget.tenants.models import Tenant
from zorio_widget.trunks.models import Trunk

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(db: None) -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_changelist_shows_registration_state_and_form_hides_the_password(admin_client_: Client, tenant: Tenant) -> None:
    trunk = Trunk.objects.create(tenant=tenant, name="carrier", host="sip.example.com", username="u",
                                 password="do-not-show-me", register=True, registration_state="registered")
    page = admin_client_.get("/admin/trunks/trunk/").content.decode()
    assert "carrier" in page and "registered" in page
    form = admin_client_.get(f"/admin/trunks/trunk/{trunk.pk}/change/").content.decode()
    assert "do-not-show-me" not in form
    data = {"tenant": tenant.pk, "name": "carrier", "enabled": "on", "host": "sip2.example.com", "port": 5060,
            "transport": "udp", "username": "u", "password": "", "outbound_prefixes": "", "caller_ids": "",
            "default_caller_id": "", "max_channels": 0,
            "dids-TOTAL_FORMS": 1, "dids-INITIAL_FORMS": 0, "dids-0-number": "+84900", "dids-0-target": "1001"}
    response = admin_client_.post(f"/admin/trunks/trunk/{trunk.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    trunk.refresh_from_db()
    assert trunk.host == "sip2.example.com" and trunk.password == "do-not-show-me"
    assert list(trunk.dids.values_list("number", "target")) == [("+84900", "1001")]
