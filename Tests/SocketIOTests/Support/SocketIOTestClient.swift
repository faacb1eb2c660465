// A small Socket.IO v5 client over the shared TestWebSocket (Tests/Support/TestClients.swift): the
// Engine.IO WebSocket handshake, pings answered "2" → "3", CONNECT/DISCONNECT, events and acks
// (binary attachments included) encoded with the SocketIO module's own SocketPacketEncoder, and the
// packets the server sends decoded with its SocketPacketDecoder (the codec has fixture tests of its
// own). Every wait has a timeout that only guards against a hang.

import EngineIO
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import SocketIO
import TestSupport

/// One Socket.IO client on its own WebSocket (one Engine.IO session).
///
/// A background task reads every frame: it answers Engine.IO pings at once (so a test never has to
/// read for the connection to stay alive) and queues the decoded Socket.IO packets, which the test
/// reads in order. One test task reads at a time.
final class SocketIOTestClient: Sendable {
    /// A Socket.IO packet as it arrived.
    struct Received: Sendable {
        /// The decoded packet (binary types reported as `.event` / `.ack`, attachments resolved).
        var packet: SocketPacket
        /// Its Socket.IO text form on the wire (after the Engine.IO `4`), attachments not included.
        var text: String
        /// How many binary frames (attachments) followed the text.
        var attachmentCount: Int
    }

    private enum Incoming: Sendable {
        case packet(Received)
        case undecodable(String)
    }

    private struct ReadState: Sendable {
        var decoder = SocketPacketDecoder()
        var pendingText: String?
        var pendingAttachments = 0
        var closeCode: UInt16?
        var closeFrameReceived = false
        var pingsAnswered = 0
    }

    /// The WebSocket carrying the session.
    let webSocket: TestWebSocket
    /// The Engine.IO session id from the open packet.
    let engineSID: String
    /// The whole open packet (`sid`, `upgrades`, `pingInterval`, …).
    let openPacket: JSONValue

    private let incoming = TestAsyncQueue<Incoming>()
    private let state = NIOLockedValueBox(ReadState())
    private let ackIDs = NIOLockedValueBox(0)

    private init(webSocket: TestWebSocket, engineSID: String, openPacket: JSONValue) {
        self.webSocket = webSocket
        self.engineSID = engineSID
        self.openPacket = openPacket
    }

    /// Opens an Engine.IO WebSocket session at `uri` (`/socket.io/?EIO=4&transport=websocket…`) and
    /// reads its open packet. No namespace is connected yet.
    static func open(to address: SocketAddress, uri: String, headers: HTTPHeaders = [:]) async throws -> SocketIOTestClient {
        let webSocket = try await TestWebSocket.connect(to: address, uri: uri, headers: headers)
        do {
            let first = try await webSocket.nextText()
            guard first.hasPrefix("0") else { throw TestClientError.unexpected("expected the open packet, got \(first)") }
            let open = try JSONValue.parse(String(first.dropFirst()))
            guard let sid = open["sid"]?.stringValue else { throw TestClientError.unexpected("open packet without sid: \(first)") }
            let client = SocketIOTestClient(webSocket: webSocket, engineSID: sid, openPacket: open)
            client.startReading()
            return client
        } catch {
            await webSocket.close()
            throw error
        }
    }

    // MARK: Reading

    private func startReading() {
        Task { [self] in
            while true {
                let message: TestWebSocketMessage
                do {
                    // A long guard per read: this task only waits for the server.
                    message = try await self.webSocket.next(timeout: .seconds(3600))
                } catch TestClientError.timedOut {
                    continue
                } catch {
                    break
                }
                self.handle(message)
            }
            self.incoming.finish()
        }
    }

    private func handle(_ message: TestWebSocketMessage) {
        switch message {
        case .text(let text):
            if text == "2" {
                self.state.withLockedValue { $0.pingsAnswered += 1 }
                self.webSocket.send(text: "3")
            } else if text.hasPrefix("4") {
                let body = String(text.dropFirst())
                let outcome = self.state.withLockedValue { state -> Incoming? in
                    do {
                        if let packet = try state.decoder.decode(text: body) {
                            return .packet(Received(packet: packet, text: body, attachmentCount: 0))
                        }
                        state.pendingText = body
                        state.pendingAttachments = 0
                        return nil
                    } catch {
                        return .undecodable("\(body): \(error)")
                    }
                }
                if let outcome { self.incoming.push(outcome) }
            }
            // Other Engine.IO packets (noop, …) carry nothing for the tests.
        case .binary(let bytes):
            let outcome = self.state.withLockedValue { state -> Incoming? in
                do {
                    state.pendingAttachments += 1
                    guard let packet = try state.decoder.decode(binary: ByteBuffer(bytes: bytes)) else { return nil }
                    defer { state.pendingText = nil }
                    return .packet(Received(packet: packet, text: state.pendingText ?? "", attachmentCount: state.pendingAttachments))
                } catch {
                    return .undecodable("binary frame of \(bytes.count) bytes: \(error)")
                }
            }
            if let outcome { self.incoming.push(outcome) }
        case .close(let code):
            self.state.withLockedValue {
                $0.closeFrameReceived = true
                $0.closeCode = code
            }
        case .ping, .pong:
            break
        }
    }

    /// How many Engine.IO pings were answered.
    var pingsAnswered: Int { self.state.withLockedValue { $0.pingsAnswered } }
    /// The code of the WebSocket close frame the server sent, if any.
    var closeCode: UInt16? { self.state.withLockedValue { $0.closeCode } }
    /// Whether the server sent a WebSocket close frame.
    var closeFrameReceived: Bool { self.state.withLockedValue { $0.closeFrameReceived } }

    /// The next Socket.IO packet, with its wire text.
    func nextReceived(timeout: TimeAmount = testClientTimeout) async throws -> Received {
        switch try await self.incoming.next(timeout: timeout, "a Socket.IO packet") {
        case .packet(let received): return received
        case .undecodable(let what): throw TestClientError.unexpected("undecodable packet from the server: \(what)")
        }
    }

    /// The next Socket.IO packet.
    func nextPacket(timeout: TimeAmount = testClientTimeout) async throws -> SocketPacket {
        try await self.nextReceived(timeout: timeout).packet
    }

    /// The next packet, which must be an EVENT named `name` in `namespace`; returns its arguments.
    func expectEvent(_ name: String, namespace: String = "/", timeout: TimeAmount = testClientTimeout) async throws -> [JSONValue] {
        let packet = try await self.nextPacket(timeout: timeout)
        guard packet.type == .event, packet.namespace == namespace, packet.id == nil,
              case .array(let array)? = packet.data, array.first == .string(name) else {
            throw TestClientError.unexpected("expected event \(name) in \(namespace), got \(packet)")
        }
        return Array(array.dropFirst())
    }

    /// The next EVENT named `name` in `namespace`, skipping any other packet; returns its arguments.
    func nextEvent(named name: String, namespace: String = "/", timeout: TimeAmount = testClientTimeout) async throws -> [JSONValue] {
        let deadline = NIODeadline.now() + timeout
        while true {
            let remaining = deadline - .now()
            guard remaining > .zero else { throw TestClientError.timedOut("event \(name)") }
            let packet = try await self.nextPacket(timeout: remaining)
            if packet.type == .event, packet.namespace == namespace, case .array(let array)? = packet.data,
               array.first == .string(name) {
                return Array(array.dropFirst())
            }
        }
    }

    /// The next packet, which must be an EVENT asking for an acknowledgement; returns its name,
    /// arguments and ack id.
    func expectEventWithAck(namespace: String = "/", timeout: TimeAmount = testClientTimeout) async throws
        -> (name: String, arguments: [JSONValue], ackID: Int) {
        let packet = try await self.nextPacket(timeout: timeout)
        guard packet.type == .event, packet.namespace == namespace, let id = packet.id,
              case .array(let array)? = packet.data, case .string(let name)? = array.first else {
            throw TestClientError.unexpected("expected an event with an ack id in \(namespace), got \(packet)")
        }
        return (name, Array(array.dropFirst()), id)
    }

    /// The next packet, which must be the server's DISCONNECT (`41`) for `namespace`.
    func expectDisconnect(namespace: String = "/", timeout: TimeAmount = testClientTimeout) async throws {
        let packet = try await self.nextPacket(timeout: timeout)
        guard packet == SocketPacket(type: .disconnect, namespace: namespace) else {
            throw TestClientError.unexpected("expected DISCONNECT for \(namespace), got \(packet)")
        }
    }

    // MARK: Sending

    /// Sends an Engine.IO text frame as is (`"4…"` is a Socket.IO packet).
    func sendRaw(_ text: String) {
        self.webSocket.send(text: text)
    }

    /// Sends a binary frame (an Engine.IO binary message) as is.
    func sendRawBinary(_ bytes: [UInt8]) {
        self.webSocket.send(bytes: bytes)
    }

    /// Sends a Socket.IO packet: its text form as an Engine.IO message, then one binary frame per
    /// attachment.
    func send(_ packet: SocketPacket) {
        let (text, attachments) = SocketPacketEncoder.encodeText(packet)
        self.webSocket.send(text: "4" + text)
        for attachment in attachments {
            self.webSocket.send(bytes: Array(attachment.readableBytesView))
        }
    }

    /// Sends CONNECT to `namespace` with an optional auth payload.
    func sendConnect(_ namespace: String = "/", auth: JSONValue? = nil) {
        self.send(SocketPacket(type: .connect, namespace: namespace, data: auth))
    }

    /// Connects to `namespace` and returns the CONNECT reply's payload (`{"sid":…}`); throws if
    /// the next packet is not a CONNECT for that namespace.
    @discardableResult
    func connect(_ namespace: String = "/", auth: JSONValue? = nil, timeout: TimeAmount = testClientTimeout) async throws -> JSONValue {
        self.sendConnect(namespace, auth: auth)
        let packet = try await self.nextPacket(timeout: timeout)
        guard packet.type == .connect, packet.namespace == namespace, let data = packet.data else {
            throw TestClientError.unexpected("expected CONNECT for \(namespace), got \(packet)")
        }
        return data
    }

    /// Connects to `namespace` and returns the socket id of the reply.
    func connectSID(_ namespace: String = "/", auth: JSONValue? = nil) async throws -> String {
        let reply = try await self.connect(namespace, auth: auth)
        guard let sid = reply["sid"]?.stringValue else { throw TestClientError.unexpected("CONNECT reply without sid: \(reply)") }
        return sid
    }

    /// Sends CONNECT to `namespace` and returns the CONNECT_ERROR payload the server must answer with.
    func connectExpectingError(_ namespace: String = "/", auth: JSONValue? = nil, timeout: TimeAmount = testClientTimeout) async throws -> JSONValue {
        self.sendConnect(namespace, auth: auth)
        let packet = try await self.nextPacket(timeout: timeout)
        guard packet.type == .connectError, packet.namespace == namespace, let data = packet.data else {
            throw TestClientError.unexpected("expected CONNECT_ERROR for \(namespace), got \(packet)")
        }
        return data
    }

    /// Sends DISCONNECT (`41`) for `namespace`.
    func sendDisconnect(_ namespace: String = "/") {
        self.send(SocketPacket(type: .disconnect, namespace: namespace))
    }

    /// Emits `event` without asking for an acknowledgement.
    func emit(_ event: String, _ arguments: JSONValue..., namespace: String = "/") {
        self.send(SocketPacket(type: .event, namespace: namespace, data: .array([.string(event)] + arguments)))
    }

    /// Emits `event` asking for acknowledgement `ackID`.
    func emit(_ event: String, arguments: [JSONValue], namespace: String = "/", ackID: Int) {
        self.send(SocketPacket(type: .event, namespace: namespace, id: ackID, data: .array([.string(event)] + arguments)))
    }

    /// Emits `event` with a fresh ack id and waits for the acknowledgement, which must be the next
    /// packet; returns its arguments.
    func emitWithAck(_ event: String, _ arguments: JSONValue..., namespace: String = "/",
                     timeout: TimeAmount = testClientTimeout) async throws -> [JSONValue] {
        try await self.emitWithAck(event, arguments: arguments, namespace: namespace, timeout: timeout)
    }

    /// Emits `event` with a fresh ack id and waits for the acknowledgement, which must be the next
    /// packet; returns its arguments.
    func emitWithAck(_ event: String, arguments: [JSONValue], namespace: String = "/",
                     timeout: TimeAmount = testClientTimeout) async throws -> [JSONValue] {
        let id = self.ackIDs.withLockedValue { next in
            defer { next += 1 }
            return next
        }
        self.emit(event, arguments: arguments, namespace: namespace, ackID: id)
        let packet = try await self.nextPacket(timeout: timeout)
        guard packet.type == .ack, packet.namespace == namespace, packet.id == id, case .array(let values)? = packet.data else {
            throw TestClientError.unexpected("expected ACK \(id) in \(namespace), got \(packet)")
        }
        return values
    }

    /// Answers the server's acknowledgement `id`.
    func ack(_ id: Int, _ arguments: JSONValue..., namespace: String = "/") {
        self.send(SocketPacket(type: .ack, namespace: namespace, id: id, data: .array(arguments)))
    }

    // MARK: Closing

    /// Waits until the server closes the connection.
    func waitForClose(timeout: TimeAmount = testClientTimeout) async throws {
        try await self.webSocket.waitForClose(timeout: timeout)
    }

    /// Waits until the server closes the connection and every frame it sent has been read; returns
    /// the packets that arrived before the close and were not read yet. ``closeCode`` is final after.
    func packetsUntilClose(timeout: TimeAmount = testClientTimeout) async throws -> [SocketPacket] {
        var packets: [SocketPacket] = []
        while true {
            do {
                packets.append(try await self.nextPacket(timeout: timeout))
            } catch TestClientError.connectionClosed {
                return packets
            }
        }
    }

    /// Whether the TCP connection is still open.
    var isOpen: Bool { self.webSocket.channel.isActive }

    /// Drops the TCP connection without a Socket.IO or Engine.IO goodbye (a "transport close").
    func close() async {
        await self.webSocket.close()
    }
}
