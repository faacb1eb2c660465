import ArgumentParser
import EngineIO
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SocketIO

/// `hub conformance`: what the official Engine.IO v4 and Socket.IO v5 test suites expect, on one
/// port — a bare echoing Engine.IO server at /engine.io/ and a Socket.IO server at /socket.io/,
/// both with pingInterval 300 ms and pingTimeout 200 ms unless told otherwise.
struct ConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Serve what the official protocol test suites expect (and the interop tests' extra events)."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 3000
    @Option(help: "Log level.") var logLevel = "info"
    @Option(help: "pingInterval in milliseconds (the official suites expect 300).") var pingInterval = 300
    @Option(help: "pingTimeout in milliseconds (the official suites expect 200).") var pingTimeout = 200

    func run() async throws {
        var logger = Logger(label: "hub.conformance")
        logger.logLevel = Logger.Level(rawValue: self.logLevel) ?? .info
        let group = MultiThreadedEventLoopGroup.singleton

        var engineConfiguration = EngineConfiguration(path: "/engine.io/")
        engineConfiguration.pingInterval = .milliseconds(Int64(self.pingInterval))
        engineConfiguration.pingTimeout = .milliseconds(Int64(self.pingTimeout))
        let echo = EngineServer(configuration: engineConfiguration, delegate: EchoEngine(), logger: logger)

        var socketConfiguration = SocketIOConfiguration(engine: engineConfiguration)
        socketConfiguration.engine.path = "/socket.io/"
        let io = SocketIOServer(configuration: socketConfiguration, group: group, logger: logger)
        ConformanceBehaviour.install(on: io)

        let http = HTTPServer(configuration: .init(host: self.host, port: self.port), endpoints: [echo, io.engine],
                              group: group, logger: logger)
        let service = HTTPServerService(server: http, engines: [echo, io.engine], logger: logger)
        try await ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
}

/// The bare Engine.IO server of the v4 suite: every message comes back as it went.
final class EchoEngine: EngineServerDelegate {
    func engineServer(_ server: EngineServer, didOpen session: EngineSession) {
        session.handler = EchoSessionHandler()
    }
}

final class EchoSessionHandler: EngineSessionHandler {
    private let allocator = ByteBufferAllocator()

    func engineSession(_ session: EngineSession, didReceive message: EngineMessage) {
        session.send(EngineCodec.encode(.message(message), allocator: self.allocator))
    }

    func engineSession(_ session: EngineSession, didCloseWith reason: EngineCloseReason) {}
}
