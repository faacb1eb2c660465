import RedisClient
import Testing

@Suite("Redis URL")
struct RedisURLTests {
    @Test func full() throws {
        let url = try RedisURL("redis://user:p%40ss@cache.local:6380/3")
        #expect(url == RedisURL(host: "cache.local", port: 6380, username: "user", password: "p@ss", database: 3))
        #expect(url.description == "redis://user:***@cache.local:6380/3")
    }

    @Test func defaults() throws {
        #expect(try RedisURL("redis://127.0.0.1") == RedisURL(host: "127.0.0.1"))
        #expect(try RedisURL("REDIS://h:1/") == RedisURL(host: "h", port: 1))
        #expect(try RedisURL("redis://:secret@h") == RedisURL(host: "h", password: "secret"))
        #expect(try RedisURL("redis://secret@h") == RedisURL(host: "h", password: "secret"))
        #expect(try RedisURL("redis://[::1]:7000/1") == RedisURL(host: "::1", port: 7000, database: 1))
    }

    @Test(arguments: [("rediss://h", "rediss"), ("unix:///tmp/redis.sock", "unix"), ("http://h", "http")])
    func unsupportedSchemes(_ text: String, _ scheme: String) {
        #expect(throws: RedisURL.ParseError.unsupportedScheme(scheme)) { try RedisURL(text) }
    }

    @Test(arguments: ["h:6379", "redis://", "redis://:pw@", "redis://h:0", "redis://h:99999", "redis://h:x", "redis://h/-1", "redis://h/db"])
    func invalid(_ text: String) {
        #expect(throws: RedisURL.ParseError.self) { try RedisURL(text) }
    }
}
