"""whitenoise: collectstatic writes hashed names and compressed variants, and they are served."""

import json
import os
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.test import Client

MANIFEST_STORAGE = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}


@pytest.fixture
def collected(settings, tmp_path: Path) -> Path:
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": MANIFEST_STORAGE}
    call_command("collectstatic", interactive=False, verbosity=0)
    return settings.STATIC_ROOT


def test_collectstatic_writes_hashed_names_and_gzip_variants(collected: Path) -> None:
    manifest = json.loads((collected / "staticfiles.json").read_text())["paths"]
    assert manifest, "empty manifest"
    for name, hashed in manifest.items():
        stem, ext = os.path.splitext(name)
        assert re.fullmatch(re.escape(stem) + r"\.[0-9a-f]{12}" + re.escape(ext), hashed), (name, hashed)
        assert (collected / hashed).is_file()
    for name in ("admin/css/base.css", "admin/js/core.js"):
        assert (collected / (manifest[name] + ".gz")).is_file()
    zorio = [name for name in manifest if name.startswith("zorio/") and name.endswith(".js")]
    for name in zorio:  # the built widget, once frontend/ builds it
        assert (collected / (manifest[name] + ".gz")).is_file()


def test_hashed_urls_are_rendered_and_served_compressed(collected: Path, db: None) -> None:
    url = staticfiles_storage.url("admin/css/base.css")
    assert re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", url)
    response = Client().get(url, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "max-age=315360000" in response["Cache-Control"]  # hashed files are cached forever
