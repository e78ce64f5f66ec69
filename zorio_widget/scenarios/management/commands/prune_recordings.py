"""`manage.py prune_recordings [--days N] [--dry-run]`: removes recordings older than the retention.

`RECORDINGS_RETENTION_DAYS` (or `--days`) days: the day folders under `RECORDINGS_ROOT` older than
that go, and the records of their calls lose `recording_file` (their `recording_url` becomes null,
the record itself stays). Without either (0) nothing is removed. Run it daily (cron, a systemd timer).
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from zorio_widget.calls.models import CallRecord
from zorio_widget.media.recording import RecordingStore


class Command(BaseCommand):
    help = "Remove call recordings older than RECORDINGS_RETENTION_DAYS (or --days)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="keep this many days (default: the setting)")
        parser.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else settings.RECORDINGS_RETENTION_DAYS
        if days < 0:
            raise CommandError("--days must be 0 (keep everything) or more")
        if days == 0:
            self.stdout.write("Retention is 0 days (RECORDINGS_RETENTION_DAYS): every recording is kept.")
            return
        cutoff = timezone.now() - dt.timedelta(days=days)
        before = cutoff.astimezone(dt.UTC).date()
        old = CallRecord.objects.filter(started_at__date__lt=before).exclude(recording_file="")
        if options["dry_run"]:
            self.stdout.write(f"Would remove {old.count()} recording(s) of calls before {before}.")
            return
        folders = RecordingStore.from_settings().prune(before)
        cleared = old.update(recording_file="")
        self.stdout.write(f"Removed {folders} day folder(s) and {cleared} recording(s) of calls before {before}.")
