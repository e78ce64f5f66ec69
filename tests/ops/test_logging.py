"""Structured logs: the JSON formatter, the call context on records, redaction on the same handler."""

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest

from zorio_widget.logging_filters import RedactTokens
from zorio_widget.ops.jsonlog import JsonFormatter, TextFormatter
from zorio_widget.ops.logcontext import CallContextFilter, call_context


@pytest.fixture
def captured(settings) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose handler is configured as settings.LOGGING's console handler with LOG_FORMAT=json."""
    settings.NODE_NAME = "node-7"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactTokens())
    handler.addFilter(CallContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.ops.captured")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_has_the_fields_and_the_node(captured) -> None:
    logger, stream = captured
    logger.warning("plain %s", "line")
    [line] = lines(stream)
    assert line["level"] == "WARNING" and line["logger"] == "tests.ops.captured" and line["message"] == "plain line"
    assert line["process"] == "node-7" and isinstance(line["pid"], int) and line["timestamp"].endswith("+00:00")
    assert "call_uuid" not in line and "tenant" not in line


async def test_the_call_context_follows_tasks_and_stays_in_its_call(captured) -> None:
    logger, stream = captured
    first, second = uuid.uuid4(), uuid.uuid4()

    async def work(name: str) -> None:
        await asyncio.sleep(0)
        logger.info("inside %s", name)

    async def call(call_uuid: uuid.UUID, tenant: str) -> None:
        with call_context(call_uuid, tenant):
            await asyncio.create_task(work(tenant))

    await asyncio.gather(call(first, "acme"), call(second, "globex"))
    logger.info("outside")
    by_message = {line["message"]: line for line in lines(stream)}
    assert (by_message["inside acme"]["call_uuid"], by_message["inside acme"]["tenant"]) == (str(first), "acme")
    assert (by_message["inside globex"]["call_uuid"], by_message["inside globex"]["tenant"]) == (str(second), "globex")
    assert "call_uuid" not in by_message["outside"]


def test_extra_and_the_call_layers_message_convention_name_the_call(captured) -> None:
    logger, stream = captured
    call_uuid = uuid.uuid4()
    logger.info("call %s: leg %s re-attached", call_uuid, "c1")
    logger.info("answered", extra={"call_uuid": "u-1", "tenant": "acme"})
    first, second = lines(stream)
    assert first["call_uuid"] == str(call_uuid) and "tenant" not in first
    assert (second["call_uuid"], second["tenant"]) == ("u-1", "acme")


def test_credentials_are_redacted_in_messages_fields_and_tracebacks(captured) -> None:
    logger, stream = captured
    try:
        raise ValueError("bad url /ws/webphone/?token=s3cret-1")
    except ValueError:
        logger.exception('"GET /softphone/?token=s3cret-2&tenant=demo" 200', extra={"tenant": "Bearer s3cret-3"})
    [line] = lines(stream)
    text = json.dumps(line)
    assert "s3cret" not in text
    assert line["message"] == '"GET /softphone/?token=***&tenant=demo" 200'
    assert "token=***" in line["exception"] and line["tenant"] == "Bearer ***"


def test_text_format_names_the_call_once(settings) -> None:
    settings.NODE_NAME = "n"
    record = logging.LogRecord("zorio_widget.calls", logging.INFO, __file__, 1, "call %s: answered", (uuid.UUID(int=1),), None)
    CallContextFilter().filter(record)
    text = TextFormatter().format(record)
    assert text.count("00000000-0000-0000-0000-000000000001") == 1 and "INFO" in text
    with call_context("u-9", "acme"):
        other = logging.LogRecord("zorio_widget.media", logging.INFO, __file__, 1, "relay armed", (), None)
        CallContextFilter().filter(other)
    assert "[call u-9 tenant acme] relay armed" in TextFormatter().format(other)
