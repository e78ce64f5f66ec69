"""CallRecord: the API shape and the viewer-relative direction."""

from datetime import timedelta

from django.utils import timezone

from zorio_widget.calls.models import CallRecord, Direction, EndReason
from zorio_widget.tenants.models import Extension, Tenant


def test_defaults_and_as_api(extension: Extension) -> None:
    bob = Extension.objects.create(tenant=extension.tenant, number="1002")
    started = timezone.now()
    rec = CallRecord.objects.create(
        tenant=extension.tenant, direction=Direction.INTERNAL, from_extension=extension, to_extension=bob,
        from_number="1001", to_number="1002", from_name="Alice", started_at=started,
        answered_at=started + timedelta(seconds=2), ended_at=started + timedelta(seconds=12), duration=10.0,
        end_reason=EndReason.HANGUP, lead_id="L1", meta={"ticket": 7}, card={"outcome": "sold"},
    )
    assert rec.uuid is not None
    data = rec.as_api(viewer=extension)
    assert data == {
        "uuid": str(rec.uuid),
        "direction": "outgoing",
        "from": "1001",
        "from_name": "Alice",
        "to": "1002",
        "to_name": "",
        "started_at": started.isoformat(),
        "answered_at": (started + timedelta(seconds=2)).isoformat(),
        "ended_at": (started + timedelta(seconds=12)).isoformat(),
        "duration": 10.0,
        "end_reason": "hangup",
        "transferred_to": None,
        "sip_code": None,
        "options": {"campaign_id": "", "lead_id": "L1", "customer_id": "", "recording": False, "caller_name": "",
                    "meta": {"ticket": 7}},
        "kind": "call",
        "recording_url": None,
        "card": {"outcome": "sold"},
    }
    assert rec.as_api(viewer=bob)["direction"] == "incoming"
    assert rec.as_api()["direction"] == "internal"


def test_non_internal_directions_are_kept(tenant: Tenant, extension: Extension) -> None:
    rec = CallRecord.objects.create(tenant=tenant, direction=Direction.OUTGOING, from_extension=extension,
                                    from_number="1001", to_number="*43", started_at=timezone.now())
    assert rec.as_api(viewer=extension)["direction"] == "outgoing"
    assert rec.as_api(viewer=extension)["end_reason"] is None


def test_records_survive_their_extension(extension: Extension) -> None:
    rec = CallRecord.objects.create(tenant=extension.tenant, direction=Direction.OUTGOING, from_extension=extension,
                                    from_number="1001", to_number="*44", started_at=timezone.now())
    extension.delete()
    rec.refresh_from_db()
    assert rec.from_extension is None and rec.from_number == "1001"


def test_newest_first(tenant: Tenant) -> None:
    now = timezone.now()
    old = CallRecord.objects.create(tenant=tenant, direction="outgoing", from_number="1", to_number="2",
                                    started_at=now - timedelta(hours=1))
    new = CallRecord.objects.create(tenant=tenant, direction="outgoing", from_number="1", to_number="2",
                                    started_at=now)
    assert list(CallRecord.objects.all()) == [new, old]


def test_end_reasons_match_the_protocol() -> None:
    assert set(EndReason.values) == {"hangup", "busy", "no-answer", "failed", "transferred", "rejected", "cancelled",
                                     "answered-elsewhere"}
