"""/sse in a real browser: headless Chromium (the session's `browser` fixture, browser.py) opens
a page of the hub (same origin, so no CORS is involved), runs `new EventSource('/sse/ROOM?token=…')`
and records what its listeners get; events are published from Python through the HTTP API.
"""

from __future__ import annotations

import json
import time
import uuid

import requests

from hubsupport import jwt
from support import WAIT

# Opens an EventSource and records each `alert_created` (type, parsed data, lastEventId) and each
# `open`/`error` on window.sse; calls back once the stream is open (or after WAIT with the state).
OPEN_EVENT_SOURCE = """
const [url, done] = [arguments[0], arguments[arguments.length - 1]];
const source = new EventSource(url);
window.sse = {source, events: [], opens: 0, errors: 0};
source.addEventListener("alert_created", (event) => {
  window.sse.events.push({type: event.type, data: JSON.parse(event.data), lastEventId: event.lastEventId});
});
source.onopen = () => { window.sse.opens += 1; done({readyState: source.readyState, opens: window.sse.opens}); };
source.onerror = () => { window.sse.errors += 1; };
setTimeout(() => done({readyState: source.readyState, opens: window.sse.opens, errors: window.sse.errors}), %d);
"""


def recorded_events(browser, count: int) -> list[dict]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        events = browser.execute_script("return window.sse.events")
        if len(events) >= count:
            return events
        time.sleep(0.05)
    raise AssertionError(f"the browser got {browser.execute_script('return window.sse.events')!r}, expected {count} events")


def test_event_source_in_chromium_receives_a_published_event(hubsse, browser):
    hubsse.check_alive()
    room = "browser-" + uuid.uuid4().hex[:10]
    browser.get(hubsse.url + "/healthz")
    token = jwt("browser-user", ["monitor"])
    opened = browser.execute_async_script(OPEN_EVENT_SOURCE % int(WAIT * 1000),
                                          f"/sse/{room}?namespace=%2Fmonitoring&token={token}")
    assert opened["readyState"] == 1 and opened["opens"] == 1, opened

    payload = {"level": "critical", "message": "queue backed up", "source": "worker-7"}
    response = requests.post(hubsse.url + "/api/broadcast",
                             json={"namespace": "/monitoring", "room": room, "event": "alert_created", "data": payload},
                             headers={"Authorization": "Bearer " + jwt("publisher", ["service"])}, timeout=WAIT)
    assert response.status_code == 200, response.text
    assert response.json()["delivered"] == 1

    [event] = recorded_events(browser, 1)
    assert event["type"] == "alert_created"
    assert event["data"]["id"] == response.json()["id"]
    assert event["data"]["data"] == payload
    assert event["data"]["room"] == room and event["data"]["namespace"] == "/monitoring"
    assert event["lastEventId"] == str(event["data"]["offset"])
    assert browser.execute_script("return window.sse.errors") == 0

    # Closing the EventSource ends the stream on the hub.
    browser.execute_script("window.sse.source.close()")
    status_headers = {"Authorization": "Bearer " + jwt("admin", ["admin"])}
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        status = requests.get(hubsse.url + "/api/websocket/status", headers=status_headers, timeout=WAIT).json()
        if room not in status["sse"]["rooms"]["/monitoring"]:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the closed EventSource is still counted: {json.dumps(status['sse'])}")
