"""A callback's answer: read for its final status line only, whatever the receiver sends."""

import socket
import threading

import pytest

from quartermaster.reaper import callbacks
from support.receivers import read_request


@pytest.mark.parametrize(
    "answer,outcome",
    [
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", (True, "HTTP 204")),
        (
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 302 Found\r\n",
            (False, "HTTP 302"),
        ),
        (b"SSH-2.0-OpenSSH_9.6\r\n", (False, "bad answer: no HTTP status line")),
        (
            b"HTTP/1.1 200 " + b"x" * 20_000,
            (False, "bad answer: no status line in its first 8192 bytes"),
        ),
        (b"", (False, "bad answer: closed without an answer")),
    ],
)
def test_the_answer_is_read_for_its_final_status_only(answer, outcome):
    """Interim answers (1xx) are skipped; what is not an HTTP answer, or has no status line in
    its first MAX_ANSWER_BYTES, is not a delivery."""
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def answer_once():
            conn, _ = listener.accept()
            with conn:
                read_request(conn)
                conn.sendall(answer)

        threading.Thread(target=answer_once, daemon=True).start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
        delivery = callbacks.deliver(
            url, {"id": "job"}, secret=None, allowed_hosts=(), allow_private=True
        )
    assert (delivery.delivered, delivery.detail) == outcome
