import io
from collections.abc import Callable

import pytest
from django.core.management import call_command

from zorio_widget.tenants.models import Extension
from zorio_widget.tenants.tokens import token_generator


@pytest.fixture
def demo(transactional_db: None) -> None:
    call_command("seed_demo", stdout=io.StringIO())


@pytest.fixture
def token_for(demo: None) -> Callable[..., str]:
    def make(number: str, tenant: str = "demo", ttl: int = 600) -> str:
        extension = Extension.objects.get(tenant__slug=tenant, number=number)
        return token_generator.make_token(extension, ttl)[0]

    return make
