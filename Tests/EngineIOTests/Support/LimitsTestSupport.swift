// Helpers for the limits, timeouts and drain tests: an engine server whose HTTPServer settings a
// test chooses, and a raw TCP client for byte-exact requests (trickled heads, oversized heads).

import TestSupport
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOWebSocket
import Testing

@testable import EngineIO

/// A running ``HTTPServer`` + ``EngineServer`` (echoing delegate) with chosen settings.
struct ConfiguredEngineServer {
    let server: EngineTestServer
    let http: HTTPServer
    var engine: EngineServer { self.server.engine }
    var address: SocketAddress { self.server.address }
}

/// Runs `body` against a fresh engine server whose engine and HTTP settings `configure` adjusts
/// (heartbeat 60 s unless changed), then closes everything.
func withConfiguredEngineServer(
    engine configureEngine: (inout EngineConfiguration) -> Void = { _ in },
    http configureHTTP: (inout HTTPServer.Configuration) -> Void = { _ in },
    _ body: (ConfiguredEngineServer) async throws -> Void
) async throws {
    var configuration = EngineConfiguration()
    configuration.pingInterval = .seconds(60)
    configuration.pingTimeout = .seconds(60)
    configureEngine(&configuration)
    var httpConfiguration = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
    configureHTTP(&httpConfiguration)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let delegate = RecordingEngineDelegate()
    let logger = Logger(label: "engine-limits-tests", factory: { _ in SwiftLogNoOpLogHandler() })
    let refusals = RefusalCounter()
    let engine = EngineServer(configuration: configuration, delegate: delegate, logger: logger, refusals: refusals)
    let http = HTTPServer(configuration: httpConfiguration, endpoints: [engine], group: group, logger: logger, refusals: refusals)
    var failure: (any Error)?
    do {
        let address = try await http.start()
        let server = EngineTestServer(engine: engine, delegate: delegate, address: address, group: group)
        try await body(ConfiguredEngineServer(server: server, http: http))
    } catch {
        failure = error
    }
    engine.closeAllSessions()
    await http.stopAccepting()
    _ = await http.closeConnections(until: .now() + .seconds(1))
    try? await group.shutdownGracefully()
    if let failure { throw failure }
}

/// A TCP connection that sends raw bytes and collects whatever comes back until the peer closes.
final class RawTCPConnection: Sendable {
    let channel: Channel
    private let received: NIOLockedValueBox<ByteBuffer>

    private init(channel: Channel, received: NIOLockedValueBox<ByteBuffer>) {
        self.channel = channel
        self.received = received
    }

    static func connect(to address: SocketAddress) async throws -> RawTCPConnection {
        let received = NIOLockedValueBox(ByteBuffer())
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteCollector(received: received))
                }
            }
            .connect(to: address).get()
        return RawTCPConnection(channel: channel, received: received)
    }

    /// Writes `text` as is.
    func send(_ text: String) async throws {
        try await self.channel.writeAndFlush(ByteBuffer(string: text))
    }

    /// Everything received so far, as text.
    var text: String {
        self.received.withLockedValue { String(buffer: $0) }
    }

    /// Waits until the server closes the connection (throws after `timeout`).
    func waitForClose(timeout: TimeAmount = testClientTimeout) async throws {
        try await awaitWithTimeout(self.channel.closeFuture, timeout: timeout, "the server to close the connection")
    }

    func close() async {
        try? await self.channel.close()
    }

    private final class ByteCollector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: NIOLockedValueBox<ByteBuffer>

        init(received: NIOLockedValueBox<ByteBuffer>) {
            self.received = received
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = Self.unwrapInboundIn(data)
            self.received.withLockedValue { $0.writeBuffer(&bytes) }
        }
    }
}

/// Records the close frames a ``TestWebSocket`` receives, with their reasons, by sitting right
/// after its frame decoder.
final class CloseFrameRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    private let closes = NIOLockedValueBox<[(code: UInt16?, reason: String)]>([])

    /// The close frames seen so far.
    var received: [(code: UInt16?, reason: String)] { self.closes.withLockedValue { $0 } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        if frame.opcode == .connectionClose {
            var payload = frame.unmaskedData
            let code = payload.readInteger(as: UInt16.self)
            let reason = payload.readString(length: payload.readableBytes) ?? ""
            self.closes.withLockedValue { $0.append((code, reason)) }
        }
        context.fireChannelRead(data)
    }

    /// Installs a recorder on `socket`.
    static func install(on socket: TestWebSocket) async throws -> CloseFrameRecorder {
        let recorder = CloseFrameRecorder()
        try await socket.channel.eventLoop.submit {
            let decoder = try socket.channel.pipeline.syncOperations.context(handlerType: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            try socket.channel.pipeline.syncOperations.addHandler(recorder, position: .after(decoder.handler))
        }.get()
        return recorder
    }
}
