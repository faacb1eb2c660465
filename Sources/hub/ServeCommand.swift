import ArgumentParser
import EngineIO
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SocketIO

/// `hub serve`: the hub on one port.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the hub (the default).")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 3000
    @Option(help: "Engine.IO path.") var path = "/socket.io/"
    @Option(name: .customLong("cors-origin"), help: "An allowed CORS origin (repeatable; * for any).") var corsOrigins: [String] = []
    @Option(help: "pingInterval in milliseconds.") var pingInterval = 25_000
    @Option(help: "pingTimeout in milliseconds.") var pingTimeout = 20_000
    @Option(help: "maxHttpBufferSize in bytes.") var maxHttpBufferSize = 1_000_000
    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).") var logLevel = "info"

    func run() async throws {
        var logger = Logger(label: "hub")
        logger.logLevel = Logger.Level(rawValue: self.logLevel) ?? .info
        var engine = EngineConfiguration(path: self.path)
        engine.pingInterval = .milliseconds(Int64(self.pingInterval))
        engine.pingTimeout = .milliseconds(Int64(self.pingTimeout))
        engine.maxHttpBufferSize = self.maxHttpBufferSize
        if !self.corsOrigins.isEmpty {
            engine.cors = CORSConfiguration(allowedOrigins: self.corsOrigins, allowCredentials: true)
        }
        let group = MultiThreadedEventLoopGroup.singleton
        let io = SocketIOServer(configuration: SocketIOConfiguration(engine: engine), group: group, logger: logger)
        let http = HTTPServer(configuration: .init(host: self.host, port: self.port), endpoints: [io.engine], group: group, logger: logger)
        let service = HTTPServerService(server: http, engines: [io.engine], logger: logger)
        let serviceGroup = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await serviceGroup.run()
    }
}
