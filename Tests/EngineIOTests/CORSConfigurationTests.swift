import EngineIO
import NIOHTTP1
import Testing

@Suite("CORS configuration")
struct CORSConfigurationTests {
    private func head(_ headers: [(String, String)]) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: HTTPHeaders(headers))
    }

    @Test func sameOriginComparesSchemeDefaultPortsAndCase() {
        #expect(CORSConfiguration.isSameOrigin("http://127.0.0.1:3000", host: "127.0.0.1:3000"))
        #expect(CORSConfiguration.isSameOrigin("http://Hub.Example", host: "hub.example:80"))
        #expect(CORSConfiguration.isSameOrigin("https://hub.example", host: "hub.example:443"))
        #expect(CORSConfiguration.isSameOrigin("https://hub.example:443", host: "hub.example"))
        #expect(CORSConfiguration.isSameOrigin("ws://[::1]:3000", host: "[::1]:3000"))
        #expect(CORSConfiguration.isSameOrigin("http://[::1]", host: "[::1]:80"))
        #expect(!CORSConfiguration.isSameOrigin("http://hub.example", host: "hub.example:443"))
        #expect(!CORSConfiguration.isSameOrigin("http://127.0.0.1:3001", host: "127.0.0.1:3000"))
        #expect(!CORSConfiguration.isSameOrigin("http://evil.test", host: "hub.example"))
        #expect(!CORSConfiguration.isSameOrigin("null", host: "hub.example"))
        #expect(!CORSConfiguration.isSameOrigin("file://x", host: "x"))
        #expect(!CORSConfiguration.isSameOrigin("http://hub.example/path", host: "hub.example"))
        #expect(!CORSConfiguration.isSameOrigin("http://hub.example", host: nil))
    }

    @Test func allowsRequestsWithoutOriginFromTheListAndFromItself() {
        let cors = CORSConfiguration(allowedOrigins: ["http://dashboard.test"])
        #expect(cors.allows(self.head([])))
        #expect(cors.allows(self.head([("Origin", "http://dashboard.test")])))
        #expect(cors.allows(self.head([("Origin", "http://127.0.0.1:3000"), ("Host", "127.0.0.1:3000")])))
        #expect(!cors.allows(self.head([("Origin", "http://evil.test"), ("Host", "127.0.0.1:3000")])))
    }

    @Test func headersOnlyForAllowedOrigins() {
        let cors = CORSConfiguration(allowedOrigins: ["http://dashboard.test"], allowCredentials: true)
        let allowed = cors.headers(for: self.head([("Origin", "http://dashboard.test")]))
        #expect(allowed["Access-Control-Allow-Origin"] == ["http://dashboard.test"])
        #expect(allowed["Vary"] == ["Origin"])
        #expect(allowed["Access-Control-Allow-Credentials"] == ["true"])
        #expect(cors.headers(for: self.head([("Origin", "http://evil.test")])).isEmpty)
        #expect(cors.headers(for: self.head([])).isEmpty)
    }

    @Test func preflightNamesMethodsHeadersAndMaxAge() {
        let cors = CORSConfiguration(allowedOrigins: ["*"])
        let echoed = cors.preflightHeaders(for: self.head([("Origin", "http://a.test"), ("Access-Control-Request-Headers", "x-custom")]),
                                           methods: "GET,POST,OPTIONS")
        #expect(echoed["Access-Control-Allow-Methods"] == ["GET,POST,OPTIONS"])
        #expect(echoed["Access-Control-Allow-Headers"] == ["x-custom"])
        #expect(echoed["Access-Control-Max-Age"] == [])
        let fixed = cors.preflightHeaders(for: self.head([("Origin", "http://a.test")]), methods: "GET", allowedHeaders: "Authorization, Content-Type",
                                          maxAge: 600)
        #expect(fixed["Access-Control-Allow-Headers"] == ["Authorization, Content-Type"])
        #expect(fixed["Access-Control-Max-Age"] == ["600"])
        let none = CORSConfiguration(allowedOrigins: ["http://b.test"]).preflightHeaders(for: self.head([("Origin", "http://a.test")]), methods: "GET")
        #expect(none.isEmpty)
    }
}
