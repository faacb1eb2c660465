"""Chaos test (issue #11): clients cut at random by a TCP proxy must still get every event exactly
once and in order, through connection-state recovery.

Set-up: a `ChaosProxy` (chaosproxy.py) in front of each hub node cuts every TCP connection 0.3–1.5 s
after it opened (abruptly: a reset on both sides, no Socket.IO DISCONNECT). CHAOS_CLIENTS
python-socketio clients in the three transport modes (websocket only, polling only, upgrade) join
one room of /monitoring through the proxies; after each cut they reconnect at once, as socket.io-client
does with recovery on: the `pid` of their last CONNECT reply and the offset of the last event they
processed (the last argument of each broadcast) in the auth of the next CONNECT (the approach of
test_hub_recovery.py, on hubsupport.HubClient). A publisher POSTs events numbered 1..N to
/api/broadcast for the room at CHAOS_RATE per second for CHAOS_SECONDS. Then the proxies stop
cutting, every connection is cut once more (the final reconnect; a polling client whose Engine.IO
session outlived that TCP cut, because requests reopened an idle keep-alive connection, drops its
session itself), and after a quiet period every client's record is checked.

Scenarios: `single` (one `hub serve`), `cluster` (two `hub serve --redis-url` on a real redis-server,
a proxy each, clients spread over both, each reconnect going to a node at random, the publisher
alternating between the nodes; node B is SIGKILLed at 40 % of the run — its clients reconnect to A —
and restarted on its port at 60 %).

Recording: what python-socketio hands to event handlers runs in one thread per packet (so its order
is not the wire's); the client records instead in python-engineio's read loop (`_receive_packet`),
in the order the packets arrived, and only packets of its current connection (recorded events are
not handed on). All clients share one Python process: about 1,000–1,500 deliveries/s is what it
keeps up with on a loaded 2-core machine (Docs/reliability.md#chaos-test).

What is asserted, per client (printed for every client, then asserted for all):

- recovered: a reconnect whose CONNECT reply has the same `pid` and `sid` as the session it resumed
  (socket.io answers a recovered session with its old ids; an unknown or expired one gets new ids,
  `recovered` false on socket.io-client). "not recovered" reconnects are counted, not asserted.
- excused: the events a client missed across a "not recovered" reconnect: sequence numbers above
  the highest it had received before that reconnect whose POST started before the new session's
  `join_room` was acknowledged. A fresh session cannot have them; nothing else is excused.
- lost = events 1..N neither received nor excused; duplicated = events received more than once;
  reordered = events received after a higher number. All three must be 0, for every client.

Environment (a long run by hand is one command, see Docs/reliability.md#chaos-test):
CHAOS_CLIENTS (8), CHAOS_SECONDS (8), CHAOS_RATE (100 events/s), CHAOS_CUT_MIN / CHAOS_CUT_MAX
(0.3 / 1.5 s), CHAOS_SCENARIOS (single,cluster), CHAOS_SEED (random).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import engineio
import pytest
import requests
import socketio

from chaosproxy import ChaosProxy
from conftest import _start_hub
from hubsupport import SECRET, HubClient, jwt
from support import WAIT
from test_cluster import Node, RedisServer, cluster_nodes, wait_until

CLIENTS = int(os.environ.get("CHAOS_CLIENTS", "8"))
SECONDS = float(os.environ.get("CHAOS_SECONDS", "8"))
RATE = float(os.environ.get("CHAOS_RATE", "100"))
CUT_MIN = float(os.environ.get("CHAOS_CUT_MIN", "0.3"))
CUT_MAX = float(os.environ.get("CHAOS_CUT_MAX", "1.5"))
SCENARIOS = os.environ.get("CHAOS_SCENARIOS", "single,cluster").split(",")
SEED = int(os.environ.get("CHAOS_SEED", str(random.randrange(1 << 30))))
#: after the final reconnect, how long every client may take to have every event
SETTLE = 15.0 + CLIENTS * 0.2
#: the whole test's bound (pytest-timeout)
TIMEOUT = SECONDS * 2.5 + SETTLE + 90 + CLIENTS * 0.5

NAMESPACE = "/monitoring"
EVENT = "task_updated"
MODES = [("websocket", ["websocket"]), ("polling", ["polling"]), ("upgrade", None)]
#: hub serve arguments: a heartbeat that notices a dead peer within 3 s, a history long enough for
#: the whole run (recovery on Redis replays from the room's stream, trimmed at historySize)
HUB_ARGS = ("--ping-interval", "1000", "--ping-timeout", "2000", "--history-size", "100000",
            "--no-log-connections")


# --------------------------------------------------------------------------------------------------
# a client that reconnects with {pid, offset} after every cut


@dataclass
class Connect:
    at: float                 # monotonic time the CONNECT reply arrived
    node: int                 # index of the proxy (node) it went through
    recovered: bool
    first: bool               # the client's first connection
    max_before: int           # highest sequence number received before it
    joined_at: float | None = None  # join_room acknowledged (fresh sessions)


@dataclass
class Record:
    name: str
    mode: str
    seqs: list[int] = field(default_factory=list)
    connects: list[Connect] = field(default_factory=list)
    connect_failures: int = 0
    odd: list[str] = field(default_factory=list)   # anything unexpected (same pid, other sid, …)


class ChaosClient:
    """One python-socketio client at a time (hubsupport.HubClient), replaced after each cut by a new
    one that resumes the session with {pid, offset}; runs in its own thread until `stop`."""

    def __init__(self, index: int, room: str, proxies: list[ChaosProxy], rng: random.Random, move: float):
        self.mode, self.transports = MODES[index % len(MODES)]
        self.record = Record(f"c{index:02d}-{self.mode}", self.mode)
        self.token = jwt(f"chaos-{index}", ["monitor"])
        self.room = room
        self.proxies = proxies
        self.node = index % len(proxies)
        self.rng = rng
        self.move = move
        self.pid: str | None = None
        self.sid: str | None = None
        self.offset = None
        self.joined_pid: str | None = None
        self.max_seq = 0
        self.current: HubClient | None = None
        self.stop = threading.Event()
        self.joined_once = threading.Event()
        self.drop = threading.Event()   # drop the current connection (the final reconnect)
        self.connections = 0
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name=self.record.name, daemon=True)

    # -- the packets, in wire order ----------------------------------------------------------------
    def _hook(self, client: HubClient):
        original = client.sio.eio._receive_packet

        def receive(pkt):
            if pkt.packet_type == engineio.packet.MESSAGE and isinstance(pkt.data, str):
                with self._lock:
                    if client is self.current and self._on_message(pkt.data):
                        # recorded: not handed on (python-socketio would start a thread for it)
                        return None
            return original(pkt)

        client.sio.eio._receive_packet = receive

    def _on_message(self, data: str) -> bool:
        """Records a CONNECT reply or an event; True for an event (consumed here)."""
        if not data.startswith(("0" + NAMESPACE, "2" + NAMESPACE)):
            return False
        p = socketio.packet.Packet(encoded_packet=data)
        if p.packet_type == socketio.packet.CONNECT:
            pid, sid = p.data.get("pid"), p.data.get("sid")
            recovered = self.pid is not None and pid == self.pid
            if recovered and sid != self.sid:
                self.record.odd.append(f"same pid {pid}, other sid {sid} (was {self.sid})")
            self.record.connects.append(Connect(time.monotonic(), self.node, recovered,
                                                first=self.pid is None, max_before=self.max_seq))
            self.pid, self.sid = pid, sid
        elif p.packet_type == socketio.packet.EVENT and p.data and p.data[0] == EVENT:
            seq = p.data[1]["seq"]
            self.record.seqs.append(seq)
            self.max_seq = max(self.max_seq, seq)
            self.offset = p.data[-1]
            return True
        return False

    # -- the connection loop -----------------------------------------------------------------------
    def _choose_node(self) -> None:
        if len(self.proxies) > 1 and self.rng.random() < self.move:
            self.node = (self.node + 1) % len(self.proxies)

    def _run(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not self.stop.is_set() and time.monotonic() < deadline:
            self._choose_node()
            client = HubClient(self.proxies[self.node].url, NAMESPACE, self.transports)
            self._hook(client)
            with self._lock:
                self.current = client
                auth = {} if self.pid is None else {"pid": self.pid, "offset": self.offset}
            try:
                client.connect(token=self.token, auth=auth)
                self.connections += 1
                if self.joined_pid != self.pid:
                    pid = self.pid
                    if not client.call("join_room", {"room": self.room}).get("ok"):
                        raise RuntimeError("join_room refused")
                    with self._lock:
                        self.joined_pid = pid
                        self.record.connects[-1].joined_at = time.monotonic()
                    self.joined_once.set()
                while client.sio.eio.state == "connected" and not self.stop.wait(0.05) and not self.drop.is_set():
                    pass
                self.drop.clear()
            except (socketio.exceptions.ConnectionError, socketio.exceptions.TimeoutError,
                    RuntimeError, AttributeError, OSError):
                self.record.connect_failures += 1
                # a refused connect (a node down): the other node next time, after a short pause
                if len(self.proxies) > 1:
                    self.node = (self.node + 1) % len(self.proxies)
                self.stop.wait(0.05)
            finally:
                with self._lock:
                    self.current = None
                try:
                    client.sio.eio.disconnect(abort=True)
                except Exception:
                    pass
            self.stop.wait(self.rng.uniform(0.0, 0.1))  # then at once, as socket.io-client's first retry


# --------------------------------------------------------------------------------------------------
# the publisher


class Publisher:
    """POSTs events 1..total to /api/broadcast at `rate`, alternating between the nodes that are up;
    `lock` is held during each POST (so a node is never killed under a request)."""

    def __init__(self, urls: list[str], room: str, total: int, rate: float):
        self.urls = urls
        self.up = [True] * len(urls)
        self.room = room
        self.total = total
        self.rate = rate
        self.lock = threading.Lock()
        self.started: dict[int, float] = {}   # seq -> monotonic time its POST started
        self.error: str | None = None
        self.sent = 0
        self.began = self.ended = 0.0
        self.sessions = [requests.Session() for _ in urls]
        self.headers = {"Authorization": "Bearer " + jwt("chaos-publisher", ["service"])}
        self.thread = threading.Thread(target=self._run, name="publisher", daemon=True)

    def _run(self) -> None:
        self.began = time.monotonic()
        try:
            for seq in range(1, self.total + 1):
                delay = self.began + (seq - 1) / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                with self.lock:
                    alive = [i for i, up in enumerate(self.up) if up]
                    node = alive[seq % len(alive)]
                    body = {"namespace": NAMESPACE, "room": self.room, "event": EVENT, "data": {"seq": seq}}
                    self.started[seq] = time.monotonic()
                    response = self.sessions[node].post(self.urls[node] + "/api/broadcast", json=body,
                                                        headers=self.headers, timeout=WAIT)
                    if response.status_code != 200:
                        self.error = f"POST {seq} to node {node}: {response.status_code} {response.text}"
                        return
                    self.sent = seq
        except Exception as error:  # noqa: BLE001 (reported by the test)
            self.error = f"publisher: {error!r}"
        finally:
            self.ended = time.monotonic()


# --------------------------------------------------------------------------------------------------
# the check


def tally(record: Record, total: int, started: dict[int, float]) -> dict:
    seen: set[int] = set()
    duplicated = reordered = 0
    highest = 0
    for seq in record.seqs:
        if seq in seen:
            duplicated += 1
            continue
        if seq < highest:
            reordered += 1
        seen.add(seq)
        highest = max(highest, seq)
    excused: set[int] = set()
    fresh = [c for c in record.connects if not c.recovered]
    for c in fresh:
        joined = c.joined_at if c.joined_at is not None else float("inf")
        excused.update(s for s in range(c.max_before + 1, total + 1)
                       if s not in seen and started.get(s, float("inf")) < joined)
    lost = [s for s in range(1, total + 1) if s not in seen and s not in excused]
    return {
        "client": record.name, "received": len(record.seqs), "lost": len(lost),
        "duplicated": duplicated, "reordered": reordered,
        "reconnects": len(record.connects) - 1,
        "not_recovered": sum(1 for c in record.connects if not c.recovered and not c.first),
        "excused": len(excused), "connect_failures": record.connect_failures,
        "first_lost": lost[:10], "odd": record.odd[:3],
    }


def run_chaos(scenario: str, urls: list[str], ports: list[int], kill=None) -> None:
    rng = random.Random(SEED)
    print(f"\nchaos {scenario}: {CLIENTS} clients, {SECONDS:g} s at {RATE:g}/s, cuts {CUT_MIN}-{CUT_MAX} s, seed {SEED}")
    room = f"chaos-{uuid.uuid4().hex[:8]}"
    proxies = [ChaosProxy(port, CUT_MIN, CUT_MAX, lifetime=TIMEOUT, seed=rng.randrange(1 << 30)) for port in ports]
    clients = [ChaosClient(i, room, proxies, random.Random(rng.randrange(1 << 30)), move=0.5 if scenario == "cluster" else 0)
               for i in range(CLIENTS)]
    total = int(SECONDS * RATE)
    publisher = Publisher(urls, room, total, RATE)
    try:
        for c in clients:
            c.thread.start()
        for c in clients:
            assert c.joined_once.wait(WAIT * 4), f"{c.record.name} never joined the room"
        publisher.thread.start()
        if kill is not None:
            kill(publisher)
        publisher.thread.join(timeout=SECONDS * 2 + 30)
        assert not publisher.thread.is_alive(), f"the publisher did not finish ({publisher.sent}/{total})"
        assert publisher.error is None, publisher.error
        print(f"published {total} in {publisher.ended - publisher.began:.1f} s")

        # the quiet period, then the final reconnect: no more cuts, every connection cut once
        for p in proxies:
            p.calm()
        time.sleep(CUT_MAX + 0.5)
        final_cut = time.monotonic()
        for p in proxies:
            p.cut_all()
        # a polling session can outlive a TCP cut (requests reopens a cut idle keep-alive connection
        # silently): those clients drop their Engine.IO session themselves (as test_hub_recovery.py)
        time.sleep(0.5)
        for c in clients:
            if not any(k.at > final_cut for k in c.record.connects):
                c.drop.set()
        deadline = time.monotonic() + SETTLE
        while time.monotonic() < deadline and any(c.max_seq < total for c in clients):
            time.sleep(0.2)
        time.sleep(1.0)  # anything late (a duplicate) would come now
    finally:
        for c in clients:
            c.stop.set()
        for c in clients:
            c.thread.join(timeout=10)
        for p in proxies:
            p.close()

    rows = [tally(c.record, total, publisher.started) for c in clients]
    print(f"proxies: {[(p.accepted, p.cuts, p.refused) for p in proxies]} (accepted, cut, refused)")
    for row in rows:
        print(json.dumps(row))
    sums = {k: sum(r[k] for r in rows) for k in ("lost", "duplicated", "reordered", "reconnects", "not_recovered", "excused")}
    print(f"TOTAL {scenario}: {json.dumps(sums)}")
    bad = [r for r in rows if r["lost"] or r["duplicated"] or r["reordered"]]
    assert not bad, f"{len(bad)} clients did not get every event exactly once and in order: {bad}"
    assert all(not r["odd"] for r in rows), [r["odd"] for r in rows if r["odd"]]
    late = [c.record.name for c in clients if not any(k.at > final_cut for k in c.record.connects)]
    assert not late, f"no final reconnect after the last cut: {late}"


def test_tally_counts_lost_duplicated_reordered_and_excuses_only_fresh_sessions():
    """The check itself, on made-up records (no hub)."""
    started = {s: float(s) for s in range(1, 11)}
    fresh = Connect(at=0, node=0, recovered=False, first=True, max_before=0, joined_at=0.5)
    clean = Record("clean", "websocket", seqs=list(range(1, 11)), connects=[fresh])
    assert (tally(clean, 10, started)["lost"], tally(clean, 10, started)["excused"]) == (0, 0)
    bad = Record("bad", "websocket", seqs=[1, 2, 4, 3, 3, 6, 7, 8, 9], connects=[fresh])
    row = tally(bad, 10, started)
    assert (row["lost"], row["duplicated"], row["reordered"], row["first_lost"]) == (2, 1, 1, [5, 10])
    # a reconnect that was not recovered (joined at t=6.5) excuses 4..6, never 7..10
    gap = Record("gap", "polling", seqs=[1, 2, 3, 8, 9, 10], connects=[
        fresh, Connect(at=6.0, node=1, recovered=False, first=False, max_before=3, joined_at=6.5)])
    row = tally(gap, 10, started)
    assert (row["lost"], row["excused"], row["not_recovered"], row["first_lost"]) == (1, 3, 1, [7])
    # a recovered one excuses nothing
    resumed = Record("resumed", "upgrade", seqs=[1, 2, 3, 8, 9, 10], connects=[
        fresh, Connect(at=6.0, node=1, recovered=True, first=False, max_before=3)])
    assert tally(resumed, 10, started)["lost"] == 4


# --------------------------------------------------------------------------------------------------
# the scenarios


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.skipif("single" not in SCENARIOS, reason="CHAOS_SCENARIOS")
def test_chaos_single_node(hubd_chaos):
    run_chaos("single", [hubd_chaos.url], [hubd_chaos.port])


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.skipif("cluster" not in SCENARIOS, reason="CHAOS_SCENARIOS")
def test_chaos_two_nodes_with_a_crash(chaos_redis):
    nodes = [Node(chaos_redis, extra=HUB_ARGS), Node(chaos_redis, extra=HUB_ARGS)]
    try:
        wait_until(lambda: len(cluster_nodes(nodes[0])) == 2, "both nodes in the cluster status")

        def kill(publisher: Publisher) -> None:
            time.sleep(SECONDS * 0.4)
            with publisher.lock:  # never under a POST: every event is published or not
                publisher.up[1] = False
                nodes[1].stop(kill=True)
            print(f"node B SIGKILLed after {publisher.sent} events")
            time.sleep(SECONDS * 0.2)
            nodes[1] = Node(chaos_redis, port=nodes[1].port, extra=HUB_ARGS)
            with publisher.lock:
                publisher.up[1] = True
            print(f"node B restarted after {publisher.sent} events")

        run_chaos("cluster", [n.url for n in nodes], [n.port for n in nodes], kill)
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture
def chaos_redis():
    server = RedisServer()
    yield server
    server.kill()


@pytest.fixture
def hubd_chaos():
    for hub in _start_hub(["serve", "--jwt-secret", SECRET, *HUB_ARGS]):
        hub.port = int(hub.url.rsplit(":", 1)[1])
        yield hub
