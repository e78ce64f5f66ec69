"""The `X-` headers a call carries to the carrier (a scenario's answer, reject, hangup, call_pstn):
what goes on the message and what is never sent (other names, values that would break the message)."""

from sipmessage import URI, Request

from zorio_widget.sip.call.core import add_x_headers


def test_only_one_line_x_headers_go_on_the_message() -> None:
    request = Request("BYE", URI.parse("sip:0912345678@carrier.example"))
    add_x_headers(request, {"X-Reason": "done", "X-Ticket-Id": "T 7", "Contact": "<sip:evil@x>",
                            "X-Bad": "a\r\nVia: SIP/2.0/UDP evil", "X-": "empty name", "X-Nul": "a\0b"})
    add_x_headers(request, None)
    text = bytes(request).decode()
    assert "X-Reason: done\r\n" in text and "X-Ticket-Id: T 7\r\n" in text
    assert "evil" not in text and "Contact" not in text and "X-Nul" not in text and "X-:" not in text
    assert text.count("\r\n") == 4  # the request line, two headers, the blank line
