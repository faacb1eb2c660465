import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SocketIO
import SocketIORedis
import TestSupport
import Testing

/// Connection-state recovery across the nodes of a cluster, under churn: a publisher emits numbered
/// events in a tight loop on node A's event loop, and clients keep dropping their connection and
/// reconnecting with their `pid` and `offset`, to A (where the events are published) or to B, a few
/// milliseconds later. Every client must receive every event exactly once and in order (issue #11,
/// point 4: a reconnect within milliseconds of a publish lost one event, or replayed events that
/// were then delivered live again).
///
/// `REDIS_RECOVERY_ITERATIONS` sets the number of reconnects (all clients together; default 80, a
/// few seconds). The `loaded` variant keeps the nodes' event loops busy with short spins, as a
/// loaded machine does, which widens every window between a delivery queued on a loop and its run.
/// A reconnect may find a node that has not read the session's latest record yet (within
/// milliseconds of a move, mostly under load): it then connects as new, as a client does after a
/// refusal; that is counted in `notRecovered` and printed, not asserted (a known limit,
/// Docs/reliability.md). Lost, duplicated, reordered and closed-under-the-client are asserted.
@Suite("RedisAdapter: recovery across nodes is exactly once and in order")
struct RedisAdapterRecoveryOrderTests {
    /// What one client saw, event by event.
    struct Tally: Sendable, CustomStringConvertible {
        var lost = 0
        var duplicated = 0
        var outOfOrder = 0
        var notRecovered = 0
        /// Connections the server closed under the client (a stale takeover announcement, say).
        var closedByServer = 0
        var reconnects = 0
        var events = 0
        /// Where each loss, duplicate or reordering happened (the first few).
        var incidents: [String] = []

        mutating func merge(_ other: Tally) {
            self.lost += other.lost
            self.duplicated += other.duplicated
            self.outOfOrder += other.outOfOrder
            self.notRecovered += other.notRecovered
            self.closedByServer += other.closedByServer
            self.reconnects += other.reconnects
            self.events += other.events
            self.incidents += other.incidents.prefix(max(0, 20 - self.incidents.count))
        }

        var description: String {
            "reconnects=\(self.reconnects) events=\(self.events) lost=\(self.lost) duplicated=\(self.duplicated) "
                + "outOfOrder=\(self.outOfOrder) notRecovered=\(self.notRecovered) closedByServer=\(self.closedByServer)"
        }
    }

    /// The events one session received, numbered by the publisher: a run of consecutive numbers
    /// with nothing missing, nothing twice and nothing backwards is the only correct outcome.
    struct Run {
        private var seen = Set<Int>()
        private var first: Int?
        private var highest: Int?
        var tally = Tally()

        mutating func receive(_ number: Int, context: @autoclosure () -> String) {
            self.tally.events += 1
            if self.first == nil { self.first = number }
            if !self.seen.insert(number).inserted {
                self.tally.duplicated += 1
                self.note("duplicate \(number) \(context())")
            }
            if let highest = self.highest, number < highest {
                self.tally.outOfOrder += 1
                self.note("\(number) after \(highest) \(context())")
            } else if let highest = self.highest, number > highest + 1 {
                self.note("gap \(highest + 1)…\(number - 1) \(context())")
            }
            self.highest = max(self.highest ?? number, number)
        }

        /// Closes the run (a session that was not recovered starts a new one): counts what is missing.
        mutating func finish() {
            if let first = self.first, let highest = self.highest {
                self.tally.lost += (highest - first + 1) - self.seen.filter { $0 >= first && $0 <= highest }.count
            }
            self.seen = []
            self.first = nil
            self.highest = nil
        }

        private mutating func note(_ incident: String) {
            if self.tally.incidents.count < 20 { self.tally.incidents.append(incident) }
        }
    }

    static var iterations: Int {
        ProcessInfo.processInfo.environment["REDIS_RECOVERY_ITERATIONS"].flatMap(Int.init) ?? 80
    }

    @Test(arguments: [false, true])
    func everyClientGetsEveryEventOnceInOrderAcrossReconnects(loaded: Bool) async throws {
        try await RedisAdapterTests().withCluster(recovery: true) { _, a, b in
            let clients = 4
            let perClient = max(1, Self.iterations / clients)
            let running = NIOLockedValueBox(true)
            defer { running.withLockedValue { $0 = false } }

            // The publisher: bursts of numbered events on one of A's loops (a handler's emits), so
            // stream order is the numbers' order.
            let publishLoop = a.group.next()
            let publisher = Task {
                var next = 0
                while running.withLockedValue({ $0 }) {
                    let start = next
                    try await publishLoop.submit {
                        for number in start..<(start + 4) { a.io.emit("seq", .number(Double(number))) }
                    }.get()
                    next += 4
                    try await Task.sleep(for: .milliseconds(1))
                }
                return next
            }
            // A loaded machine: the loops of both nodes are busy now and then.
            let load = Task {
                guard loaded else { return }
                let loops = Array(a.group.makeIterator()) + Array(b.group.makeIterator())
                while running.withLockedValue({ $0 }) {
                    let loop = loops.randomElement()!
                    let spin = TimeAmount.microseconds(Int64.random(in: 500...4_000))
                    loop.execute {
                        let end = NIODeadline.now() + spin
                        while NIODeadline.now() < end {}
                    }
                    try? await Task.sleep(for: .milliseconds(Int.random(in: 1...5)))
                }
            }

            let tallies = try await withThrowingTaskGroup(of: Tally.self) { group in
                for index in 0..<clients {
                    group.addTask {
                        try await Self.churn(client: index, reconnects: perClient, a: a, b: b)
                    }
                }
                var total = Tally()
                for try await tally in group { total.merge(tally) }
                return total
            }
            running.withLockedValue { $0 = false }
            let published = try await publisher.value
            await load.value

            print("RedisAdapterRecoveryOrderTests loaded=\(loaded): published=\(published) \(tallies)")
            for incident in tallies.incidents { print("  \(incident)") }
            #expect(tallies.reconnects == perClient * clients)
            // Not asserted: a node may still be behind the session's latest record when its client
            // reconnects there within milliseconds (under load): it connects as new (reported).
            #expect(tallies.closedByServer == 0, "no live connection is closed by a stale takeover")
            #expect(tallies.lost == 0, "\(tallies)")
            #expect(tallies.duplicated == 0, "\(tallies)")
            #expect(tallies.outOfOrder == 0, "\(tallies)")
        }
    }

    /// One client: connects to A, then `reconnects` times reads for a few milliseconds, drops its
    /// connection (no goodbye) and reconnects with its `pid` and the offset of the last event it read,
    /// to A or B at random. Events still unread at the drop count as never received.
    static func churn(client index: Int, reconnects: Int, a: RedisAdapterTests.Node, b: RedisAdapterTests.Node) async throws -> Tally {
        var sequence = Run()
        var (client, reply) = try await a.client()
        var sid = try #require(reply["sid"]?.stringValue)
        var pid = try #require(reply["pid"]?.stringValue)
        var offset: String?
        var place = "A"
        var total = Tally()
        for iteration in 0...reconnects {
            // Read for a few milliseconds (at least one event, for an offset).
            let dwell = TimeAmount.milliseconds(Int64.random(in: 2...15))
            let until = NIODeadline.now() + dwell
            var read = 0
            while true {
                let remaining = until - .now()
                let timeout = read == 0 || offset == nil ? max(remaining, .seconds(2)) : remaining
                guard timeout > .zero else { break }
                let packet: SocketPacket
                do {
                    packet = try await client.nextPacket(timeout: timeout)
                } catch TestClientError.timedOut {
                    if read == 0 || offset == nil { throw TestClientError.timedOut("client \(index): no event on \(place)") }
                    break
                } catch TestClientError.connectionClosed {
                    // Reconnect as a real client would, and count it.
                    sequence.tally.closedByServer += 1
                    sequence.tally.incidents.append("closed by the server (client \(index), connection \(iteration) on \(place))")
                    break
                }
                guard packet.type == .event, case .array(let array)? = packet.data, array.first == "seq",
                      let number = array.dropFirst().first?.intValue, let last = array.last?.stringValue else { continue }
                sequence.receive(number, context: "(client \(index), connection \(iteration) on \(place))")
                offset = last
                read += 1
            }
            await client.close()
            guard iteration < reconnects, let offset else { break }
            let node = Bool.random() ? a : b
            place = node.address == a.address ? "A" : "B"
            client = try await SocketIOTestClient.open(to: node.address, uri: "/socket.io/?EIO=4&transport=websocket")
            let answer = try await client.nextPacketAfterConnect(auth: ["pid": .string(pid), "offset": .string(offset)])
            if answer.type == .connectError {
                // Refused (the session was taken meanwhile): connect as new, as a client does.
                sequence.tally.incidents.append("refused \(answer.data.map { "\($0)" } ?? "") (client \(index), connection \(iteration + 1) on \(place))")
                reply = try await client.connect()
            } else {
                reply = answer.data ?? .null
            }
            sequence.tally.reconnects += 1
            if reply["sid"]?.stringValue != sid {
                sequence.tally.notRecovered += 1
                sequence.tally.incidents.append("not recovered (client \(index), connection \(iteration + 1) on \(place), offset \(offset))")
                sequence.finish()
                total.merge(sequence.tally)
                sequence = Run()
                sid = try #require(reply["sid"]?.stringValue)
                pid = try #require(reply["pid"]?.stringValue)
            }
        }
        sequence.finish()
        total.merge(sequence.tally)
        return total
    }
}

extension SocketIOTestClient {
    /// Sends CONNECT with `auth` and returns the answer: CONNECT or CONNECT_ERROR.
    func nextPacketAfterConnect(auth: JSONValue) async throws -> SocketPacket {
        self.sendConnect(auth: auth)
        let packet = try await self.nextPacket()
        guard packet.type == .connect || packet.type == .connectError else {
            throw TestClientError.unexpected("expected CONNECT or CONNECT_ERROR, got \(packet)")
        }
        return packet
    }
}
