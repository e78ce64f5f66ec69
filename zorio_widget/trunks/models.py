"""A tenant's SIP trunks and their DIDs (docs/DESIGN.md §7b)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from zorio_widget.tenants.models import Tenant

from .crypto import EncryptedTextField

NUMBER = RegexValidator(r"^\+?[0-9]{1,32}$", "Digits, optionally after a +.")
TARGET = RegexValidator(r"^[0-9*#]{1,32}$", "An extension or route number.")
REGISTRATION_STATES = [(s, s) for s in ("off", "unregistered", "registering", "registered", "failed")]


class Transport(models.TextChoices):
    UDP = "udp", "UDP"
    TCP = "tcp", "TCP"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class Trunk(models.Model):
    """A carrier or PBX account: where calls to non-extension numbers go, and where DIDs come from."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="trunks")
    name = models.CharField(max_length=60)
    enabled = models.BooleanField(default=True)
    host = models.CharField(max_length=255, help_text="The carrier's SIP host name or IP address.")
    port = models.PositiveIntegerField(default=5060, validators=[MinValueValidator(1), MaxValueValidator(65535)])
    transport = models.CharField(max_length=3, choices=Transport.choices, default=Transport.UDP)
    username = models.CharField(max_length=120, blank=True)
    password = EncryptedTextField(blank=True, help_text="Stored encrypted (Fernet).")
    register = models.BooleanField(default=False, help_text="Keep a REGISTER binding with the carrier.")
    outbound_prefixes = models.TextField(
        blank=True, help_text="One prefix per line: numbers starting with one go out through this trunk. "
                              "A tenant's only trunk takes every number.")
    caller_ids = models.TextField(blank=True, help_text="Caller ids a call may ask for, one per line.")
    default_caller_id = models.CharField(max_length=33, blank=True, validators=[NUMBER])
    max_channels = models.PositiveIntegerField(default=0, help_text="Concurrent calls; 0: no limit.")
    registration_state = models.CharField(max_length=16, choices=REGISTRATION_STATES, default="off", editable=False)
    registration_detail = models.CharField(max_length=200, blank=True, editable=False)
    state_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="trunk_name_per_tenant")]
        ordering = ["tenant", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.host})"

    @property
    def prefixes(self) -> list[str]:
        return _lines(self.outbound_prefixes)

    @property
    def allowed_caller_ids(self) -> list[str]:
        return _lines(self.caller_ids)


class Did(models.Model):
    """An inbound number of a trunk and what it rings (an extension or a route number)."""

    trunk = models.ForeignKey(Trunk, on_delete=models.CASCADE, related_name="dids")
    number = models.CharField(max_length=33, unique=True, validators=[NUMBER])
    target = models.CharField(max_length=32, validators=[TARGET])

    class Meta:
        verbose_name = "DID"
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} → {self.target}"


def trunk_for_destination(tenant: Tenant, number: str) -> Trunk | None:
    """The enabled trunk a dialled number goes out on: the longest matching prefix, or the
    tenant's only trunk (docs/DESIGN.md §7b); ``None`` when neither."""
    trunks = list(Trunk.objects.filter(tenant=tenant, enabled=True))
    best: tuple[int, Trunk] | None = None
    for trunk in trunks:
        for prefix in trunk.prefixes:
            if number.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), trunk)
    if best is not None:
        return best[1]
    return trunks[0] if len(trunks) == 1 else None
