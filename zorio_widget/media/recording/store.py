"""``RecordingStore``: where a call's recording files live, under ``RECORDINGS_ROOT``.

Layout: ``<root>/<tenant slug>/<YYYY>/<MM>/<DD>/<call uuid>.ogg`` for the rendered stereo file,
and ``<call uuid>.<party>.opus`` / ``.wav`` beside it for the parties' tracks while the call
lasts (removed once rendered, unless kept). Every part of a name is checked (a slug, a UUID, a
known party), so no input can name a path outside the root. Dates are UTC.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import uuid as uuid_module
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .track import CODECS, EXTENSIONS

SLUG: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
PARTY: Final = re.compile(r"[a-z][a-z0-9_]{0,31}")


@dataclass(frozen=True, slots=True)
class RecordingPaths:
    """The files of one call's recording."""

    directory: Path
    call_uuid: str
    mixed: Path
    "The stereo Ogg Opus file (``audio/ogg``)."
    relative: str
    "``mixed`` relative to the store's root, with ``/`` (what a call record keeps)."

    def track(self, party: str, codec: str) -> Path:
        """The file of one party's track (``.opus`` for Opus, ``.wav`` for G.711)."""
        if not PARTY.fullmatch(party) or codec not in CODECS:
            raise ValueError(f"bad party {party!r} or codec {codec!r}")
        return self.directory / f"{self.call_uuid}.{party}{EXTENSIONS[codec]}"

    def tracks(self, codecs: dict[str, str]) -> dict[str, tuple[str, Path]]:
        """``{party: (codec, path)}``, the form ``CallRecorder`` takes."""
        return {party: (codec, self.track(party, codec)) for party, codec in codecs.items()}


class RecordingStore:
    """Names recording files under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_settings(cls) -> RecordingStore:
        from django.conf import settings

        return cls(Path(settings.MEDIA_ROOT))

    def paths(self, tenant: str, call_uuid: uuid_module.UUID | str, when: dt.datetime | None = None) -> RecordingPaths:
        """The paths of ``call_uuid``'s recording (nothing is created); ``ValueError`` on bad names."""
        if not isinstance(tenant, str) or not SLUG.fullmatch(tenant):
            raise ValueError(f"not a tenant slug: {tenant!r}")
        canonical = str(uuid_module.UUID(str(call_uuid)))
        day = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        directory = self.root / tenant / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
        mixed = directory / f"{canonical}.ogg"
        return RecordingPaths(directory, canonical, mixed, mixed.relative_to(self.root).as_posix())

    def resolve(self, relative: str) -> Path:
        """The file a stored ``relative`` name designates, refusing anything outside the root."""
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root.resolve()):
            raise ValueError(f"{relative!r} is outside the recordings folder")
        return candidate

    def prune(self, before: dt.date) -> int:
        """Remove every day folder older than ``before`` (the retention command's work); blocking.
        Returns the number of folders removed."""
        removed = 0
        for tenant_dir in (p for p in self.root.iterdir() if p.is_dir() and SLUG.fullmatch(p.name)) \
                if self.root.exists() else ():
            for day_dir in tenant_dir.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]"):
                try:
                    day = dt.date(int(day_dir.parent.parent.name), int(day_dir.parent.name), int(day_dir.name))
                except ValueError:
                    continue
                if day < before:
                    shutil.rmtree(day_dir)
                    removed += 1
        return removed
