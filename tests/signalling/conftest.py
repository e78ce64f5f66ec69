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
    """Tokens are minted up front: async tests may not touch the ORM synchronously."""
    tokens = {e.number: token_generator.make_token(e, 600)[0] for e in Extension.objects.filter(tenant__slug="demo")}

    def make(number: str) -> str:
        return tokens[number]

    return make
