import Testing

@testable import Hub

@Suite("Configuration: Redis, status interval, cookie")
struct HubConfigurationClusterTests {
    func load(file: String? = nil, environment: [String: String] = [:], overrides: HubConfiguration.Overrides = .init()) throws -> HubConfiguration {
        var path: String? = nil
        if let file {
            path = "/tmp/hub-cluster-config-\(UInt64.random(in: 0...UInt64.max)).json"
            try file.write(toFile: path!, atomically: true, encoding: .utf8)
        }
        return try HubConfiguration.load(configFile: path, environment: environment, overrides: overrides)
    }

    @Test func defaultsStaySingleNode() throws {
        let configuration = try self.load()
        #expect(configuration.redisURL == nil)
        #expect(configuration.cookie == nil)
        #expect(configuration.clusterStatusInterval == 5_000)
    }

    @Test func fileThenEnvironmentThenFlag() throws {
        var configuration = try self.load(file: #"{"redisURL": "redis://10.0.0.1:6379/1", "cookie": true, "clusterStatusInterval": 2000}"#)
        #expect(configuration.redisURL == "redis://10.0.0.1:6379/1")
        #expect(configuration.parsedRedisURL?.database == 1)
        #expect(configuration.cookie == "io")
        #expect(configuration.clusterStatusInterval == 2_000)

        configuration = try self.load(file: #"{"redisURL": "redis://a", "cookie": "sticky"}"#,
                                      environment: ["HUB_REDIS_URL": "redis://b:6380", "HUB_COOKIE": "false"])
        #expect(configuration.redisURL == "redis://b:6380")
        #expect(configuration.cookie == nil)

        var overrides = HubConfiguration.Overrides()
        overrides.redisURL = "redis://c/2"
        overrides.cookie = "true"
        configuration = try self.load(environment: ["HUB_REDIS_URL": "redis://b:6380"], overrides: overrides)
        #expect(configuration.redisURL == "redis://c/2")
        #expect(configuration.cookie == "io")
        #expect(try self.load(file: #"{"redisURL": null, "cookie": null}"#).redisURL == nil)
    }

    @Test func badValuesAreNamed() throws {
        #expect(throws: HubConfigurationError.self) { try self.load(environment: ["HUB_REDIS_URL": "rediss://secure:6379"]) }
        #expect(throws: HubConfigurationError.self) { try self.load(environment: ["HUB_REDIS_URL": "http://x"]) }
        #expect(throws: HubConfigurationError.self) { try self.load(environment: ["HUB_COOKIE": "bad name;"]) }
        #expect(throws: HubConfigurationError.self) { try self.load(environment: ["HUB_CLUSTER_STATUS_INTERVAL": "0"]) }
        #expect(throws: HubConfigurationError.self) { try self.load(file: #"{"cookie": 3}"#) }
        do {
            _ = try self.load(file: #"{"redisURL": "nope"}"#)
            Issue.record("accepted a bad redisURL")
        } catch let error as HubConfigurationError {
            #expect(error.key == "redisURL")
        }
    }
}
