"""CORS in a real browser (issue 10, point 6): headless Chromium on a page of another origin reads
`GET /api/websocket/status` with a monitor token (a preflighted `fetch`) and opens an `/sse`
EventSource on the hub; a page on an origin that is not on the list cannot read either."""

from __future__ import annotations

import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import _start_hub
from hubsupport import SECRET, jwt
from support import WAIT, free_port


class _Page(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b"<!doctype html><title>dashboard</title><p>a dashboard on another origin</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def page_port():
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield port
    server.shutdown()


@pytest.fixture(scope="module")
def hubcors(page_port):
    """`hub serve` allowing the page's origin http://127.0.0.1:<page_port> (not http://localhost:…)."""
    yield from _start_hub(["serve", "--jwt-secret", SECRET, "--cors-origin", f"http://127.0.0.1:{page_port}"])


FETCH_STATUS = """
const [url, token, done] = arguments;
fetch(url, {headers: {"Authorization": "Bearer " + token}})
  .then(async (response) => done({status: response.status, body: await response.json()}))
  .catch((error) => done({error: String(error)}));
"""

OPEN_EVENT_SOURCE = """
const [url, done] = arguments;
const source = new EventSource(url);
window.received = [];
source.addEventListener("task_updated", (event) => window.received.push(JSON.parse(event.data)));
source.onopen = () => done({open: true});
source.onerror = () => done({open: false, readyState: source.readyState});
"""


def test_a_page_on_an_allowed_origin_reads_the_status_and_an_event_stream(hubcors, page_port, browser):
    hubcors.check_alive()
    browser.get(f"http://127.0.0.1:{page_port}/")
    result = browser.execute_async_script(FETCH_STATUS, hubcors.url + "/api/websocket/status", jwt("dash", ["monitor"]))
    assert result.get("status") == 200, result
    assert result["body"]["status"] == "active" and "sse" in result["body"] and "stream" in result["body"]

    room = "cors-" + uuid.uuid4().hex[:8]
    opened = browser.execute_async_script(OPEN_EVENT_SOURCE, f"{hubcors.url}/sse/{room}?token={jwt('dash', ['monitor'])}")
    assert opened == {"open": True}, opened
    reply = requests.post(hubcors.url + "/api/broadcast", json={"room": room, "event": "task_updated", "data": {"progress": 40}},
                          headers={"Authorization": "Bearer " + jwt("svc", ["service"])}, timeout=WAIT)
    assert reply.status_code == 200
    deadline = time.monotonic() + WAIT
    while not browser.execute_script("return window.received.length") and time.monotonic() < deadline:
        time.sleep(0.05)
    [event] = browser.execute_script("return window.received")
    assert event["data"] == {"progress": 40} and event["room"] == room


def test_a_page_on_another_origin_cannot_read(hubcors, page_port, browser):
    hubcors.check_alive()
    browser.get(f"http://localhost:{page_port}/")  # another origin than http://127.0.0.1:<port>
    result = browser.execute_async_script(FETCH_STATUS, hubcors.url + "/api/websocket/status", jwt("dash", ["monitor"]))
    assert "error" in result and "Failed to fetch" in result["error"], result
    opened = browser.execute_async_script(OPEN_EVENT_SOURCE, f"{hubcors.url}/sse/x?token={jwt('dash', ['monitor'])}")
    assert opened["open"] is False, opened
