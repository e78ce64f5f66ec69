"""Per-tenant CORS through django-cors-headers' `check_request_enabled` signal.

An origin gets CORS headers when an enabled tenant lists it. Views bound to a token also check the
origin against that token's own tenant (a browser of tenant A cannot read tenant B's config).
"""

import re
from typing import Any

from corsheaders.signals import check_request_enabled
from django.conf import settings
from django.http import HttpRequest

from zorio_widget.tenants.models import Tenant


def origin_allowed_by_any_tenant(origin: str) -> bool:
    return any(t.allows_origin(origin) for t in Tenant.objects.filter(enabled=True).only("allowed_origins"))


def _cors_allow_tenant_origins(sender: Any, request: HttpRequest, **kwargs: Any) -> bool:
    # django-cors-headers enables CORS for any path when this signal says yes: keep it to the API.
    if not re.match(settings.CORS_URLS_REGEX, request.path_info):
        return False
    return origin_allowed_by_any_tenant(request.headers.get("Origin", ""))


check_request_enabled.connect(_cors_allow_tenant_origins, dispatch_uid="zorio_tenant_cors")
