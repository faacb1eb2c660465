import EngineIO
import NIOCore

extension HubConfiguration {
    /// The listener settings for an ``HTTPServer`` serving this hub: address, port and the HTTP
    /// limits (`maxHeaderSize`, `requestHeadTimeout`, `keepAliveTimeout`).
    public var httpServerConfiguration: HTTPServer.Configuration {
        var configuration = HTTPServer.Configuration(host: self.host, port: self.port)
        configuration.maxHeaderSize = self.maxHeaderSize
        configuration.requestHeadTimeout = .milliseconds(Int64(self.requestHeadTimeout))
        configuration.keepAliveTimeout = .milliseconds(Int64(self.keepAliveTimeout))
        return configuration
    }
}
