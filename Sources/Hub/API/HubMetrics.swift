import EngineIO
import NIOConcurrencyHelpers
import Prometheus
import SocketIO

/// The hub's Prometheus metrics, in a registry of its own (no global `MetricsSystem` bootstrap, so
/// any number of hubs can live in one process), served by the API endpoint at `GET /metrics`.
///
/// Request and authentication counters move as requests are answered; the gauges and the event
/// counters are brought up to date from the hub when the metrics are scraped
/// (``render(hub:)``).
///
/// | Metric | Type | Labels |
/// |---|---|---|
/// | `hub_connections` | gauge | — |
/// | `hub_connections_by_transport` | gauge | `transport` |
/// | `hub_sockets` | gauge | `namespace` |
/// | `hub_events_received_total` | counter | — |
/// | `hub_events_sent_total` | counter | — |
/// | `hub_http_requests_total` | counter | `route`, `status` |
/// | `hub_auth_failures_total` | counter | `reason` |
/// | `hub_connections_refused_total` | counter | `reason` (``ConnectionRefusal``) |
/// | `hub_events_refused_total` | counter | `reason` (``EventRules/Refusal/Kind``) |
/// | `hub_limits_reached_total` | counter | `limit` (``Limit``: the setting's name) |
/// | `hub_tokens_expired_total` | counter | — |
/// | `hub_history_rooms` | gauge | — |
/// | `hub_history_bytes` | gauge | — |
/// | `hub_history_evictions_total` | counter | `reason` (``EventHistory/EvictionReason``) |
/// | `hub_transport_buffer_full_total` | counter | — |
/// | `hub_volatile_dropped_total` | counter | — |
/// | `hub_uptime_seconds` | gauge | — |
/// | `hub_info` | gauge (always 1) | `version` |
/// | `hub_redis_connected` | gauge (1 or 0; with `redisURL` only) | — |
/// | `hub_redis_outages_total` | counter (with `redisURL` only) | — |
/// | `hub_stream_connections` | gauge | — |
/// | `hub_stream_subscriptions` | gauge | — |
/// | `hub_sse_connections` | gauge | — |
/// | `hub_sse_slow_consumer_closes_total` | counter | — |
public final class HubMetrics: Sendable {
    /// The Content-Type of the text exposition format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The registry every metric lives in.
    public let registry: PrometheusCollectorRegistry

    private let connections: Gauge
    private let eventsReceived: Counter
    private let eventsSent: Counter
    private let uptime: Gauge
    private let bufferFullCloses: Counter
    private let volatileDrops: Counter
    private let historyRooms: Gauge
    private let tokensExpired: Counter
    private let historyBytes: Gauge
    /// The history's eviction counts already added to `hub_history_evictions_total`.
    private let mirroredEvictions = NIOLockedValueBox<[EventHistory.EvictionReason: Int]>([:])
    /// The engine's slow-consumer and volatile-drop counts already added to their counters.
    private let mirroredOutbound = NIOLockedValueBox<(bufferFull: Int, volatileDropped: Int)>((0, 0))
    /// The ``HubStats`` values already added to the event counters.
    private let mirroredEvents = NIOLockedValueBox<(received: Int, sent: Int)>((0, 0))
    /// The engine's refusal counts already added to `hub_connections_refused_total`.
    private let mirroredRefusals = NIOLockedValueBox<[ConnectionRefusal: Int]>([:])

    private static var connectionsByTransport: MetricNameDescriptor {
        MetricNameDescriptor(
        metricName: "hub_connections_by_transport", unitName: "",
        helpText: "Open Engine.IO sessions by transport.")
    }
    private static var sockets: MetricNameDescriptor {
        MetricNameDescriptor(
        metricName: "hub_sockets", unitName: "",
        helpText: "Connected Socket.IO sockets by namespace.")
    }
    private static var httpRequests: MetricNameDescriptor {
        MetricNameDescriptor(
        metricName: "hub_http_requests", unitName: "total",
        helpText: "HTTP API requests answered, by route and status code.")
    }
    private static var connectionsRefused: MetricNameDescriptor {
        MetricNameDescriptor(
        metricName: "hub_connections_refused", unitName: "total",
        helpText: "Connections and handshakes refused by a limit or the shutdown drain, by reason.")
    }
    private static var eventsRefused: MetricNameDescriptor {
        MetricNameDescriptor(
        metricName: "hub_events_refused", unitName: "total",
        helpText: "Events from sockets and /stream not published (unknown to the rules, not permitted, malformed), by reason.")
    }
    private static var limitsReached: MetricNameDescriptor {
        MetricNameDescriptor(
        metricName: "hub_limits_reached", unitName: "total",
        helpText: "Requests refused by a per-client bound, by the setting that bounds it.")
    }
    private static var historyEvictions: MetricNameDescriptor {
        MetricNameDescriptor(
        metricName: "hub_history_evictions", unitName: "total",
        helpText: "Room histories dropped: rooms (historyMaxRooms), bytes (historyMaxBytes), ttl (historyTTL).")
    }
    private static var authFailures: MetricNameDescriptor {
        MetricNameDescriptor(
        metricName: "hub_auth_failures", unitName: "total",
        helpText: "HTTP API requests refused for authentication or authorization, by reason.")
    }

    /// Creates the metrics in a new registry, or in `registry`.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.connections = registry.makeGauge(descriptor: MetricNameDescriptor(
            metricName: "hub_connections", unitName: "", helpText: "Open Engine.IO sessions."))
        self.eventsReceived = registry.makeCounter(descriptor: MetricNameDescriptor(
            metricName: "hub_events_received", unitName: "total",
            helpText: "Events accepted for publishing (from sockets, the HTTP API and embedders)."))
        self.eventsSent = registry.makeCounter(descriptor: MetricNameDescriptor(
            metricName: "hub_events_sent", unitName: "total",
            helpText: "Event deliveries made (one per receiving socket or stream subscriber)."))
        self.uptime = registry.makeGauge(descriptor: MetricNameDescriptor(
            metricName: "hub_uptime", unitName: "seconds", helpText: "Seconds since the hub started."))
        self.bufferFullCloses = registry.makeCounter(descriptor: MetricNameDescriptor(
            metricName: "hub_transport_buffer_full", unitName: "total",
            helpText: "Connections closed because the client read too slowly (more than maxBufferedBytes waiting; reason \"transport buffer full\")."))
        self.volatileDrops = registry.makeCounter(descriptor: MetricNameDescriptor(
            metricName: "hub_volatile_dropped", unitName: "total",
            helpText: "Volatile emits dropped because the client's transport could not take them then (one per client)."))
        registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "hub_info", unitName: "", helpText: "The hub's version (value always 1)."),
            labels: [("version", Hub.version)]
        ).set(to: 1)
        for kind in EngineTransportKind.allCases {
            _ = registry.makeGauge(descriptor: Self.connectionsByTransport, labels: [("transport", kind.rawValue)])
        }
        for reason in Self.knownAuthFailureReasons {
            _ = registry.makeCounter(descriptor: Self.authFailures, labels: [("reason", reason)])
        }
        for refusal in ConnectionRefusal.allCases {
            _ = registry.makeCounter(descriptor: Self.connectionsRefused, labels: [("reason", refusal.rawValue)])
        }
        for kind in EventRules.Refusal.Kind.allCases {
            _ = registry.makeCounter(descriptor: Self.eventsRefused, labels: [("reason", kind.rawValue)])
        }
        for limit in Limit.allCases {
            _ = registry.makeCounter(descriptor: Self.limitsReached, labels: [("limit", limit.rawValue)])
        }
        for reason in EventHistory.EvictionReason.allCases {
            _ = registry.makeCounter(descriptor: Self.historyEvictions, labels: [("reason", reason.rawValue)])
        }
        self.tokensExpired = registry.makeCounter(descriptor: MetricNameDescriptor(
            metricName: "hub_tokens_expired", unitName: "total",
            helpText: "Connections (Socket.IO sockets, /stream, /sse) closed because their token expired."))
        self.historyRooms = registry.makeGauge(descriptor: MetricNameDescriptor(
            metricName: "hub_history_rooms", unitName: "", helpText: "Rooms keeping an event history on this node."))
        self.historyBytes = registry.makeGauge(descriptor: MetricNameDescriptor(
            metricName: "hub_history_bytes", unitName: "", helpText: "Estimated bytes of the events kept in room histories on this node."))
    }

    /// The per-client bounds counted in `hub_limits_reached_total`, by setting name.
    public enum Limit: String, Sendable, CaseIterable {
        /// A `join_room` past `maxRoomsPerSocket`.
        case maxRoomsPerSocket
        /// A socket event past `eventRateLimit` / `eventRateBurst`.
        case eventRateLimit
        /// A publish request past `apiRateLimit` / `apiRateBurst`.
        case apiRateLimit
    }

    /// Counts one connection closed because its token expired.
    public func recordTokenExpired() {
        self.tokensExpired.increment()
    }

    /// Counts one request refused by `limit`.
    public func recordLimitReached(_ limit: Limit) {
        self.registry.makeCounter(descriptor: Self.limitsReached, labels: [("limit", limit.rawValue)]).increment()
    }

    /// Counts one event a socket or `/stream` client sent that was not published.
    public func recordEventRefused(_ kind: EventRules.Refusal.Kind) {
        self.registry.makeCounter(descriptor: Self.eventsRefused, labels: [("reason", kind.rawValue)]).increment()
    }

    /// The reasons exported at 0 from the start (so dashboards and alerts see the series before the
    /// first failure): ``TokenAuthenticator``'s 401 reasons and the API's 403 reasons. A reason not
    /// listed here still gets its series on first use.
    static let knownAuthFailureReasons = [
        "missing token", "invalid token", "malformed token", "unsupported algorithm", "unsupported header",
        "invalid signature", "token expired", "token not yet valid", "missing sub", "invalid claims",
        "role required", "room not granted",
    ]

    /// Counts one answered HTTP request. `route` is the route's path template (a fixed set of
    /// values, never the raw request path), `status` the response code.
    public func recordRequest(route: String, status: UInt) {
        self.registry.makeCounter(descriptor: Self.httpRequests, labels: [("route", route), ("status", String(status))]).increment()
    }

    /// Counts one refused request. `reason` is a fixed phrase such as `"token expired"` or
    /// `"role required"`; it never contains the token.
    public func recordAuthFailure(reason: String) {
        self.registry.makeCounter(descriptor: Self.authFailures, labels: [("reason", reason)]).increment()
    }

    /// Refreshes the gauges and event counters from `hub` and returns every metric in the
    /// Prometheus text exposition format (version 0.0.4).
    public func render(hub: Hub) async -> String {
        await self.refresh(from: hub)
        return self.registry.emitToString()
    }

    /// Brings the gauges and the event counters up to date.
    func refresh(from hub: Hub) async {
        self.connections.set(to: Double(hub.io.engine.sessionCount))
        let transports = await hub.io.engine.transportCounts()
        for kind in EngineTransportKind.allCases {
            self.registry.makeGauge(descriptor: Self.connectionsByTransport, labels: [("transport", kind.rawValue)])
                .set(to: Double(transports[kind] ?? 0))
        }
        for namespace in hub.io.namespaces {
            // This node's sockets (a cluster adapter would otherwise ask every node).
            var local = BroadcastOptions()
            local.local = true
            let count = (try? await namespace.adapter.socketIDs(options: local).get().count) ?? 0
            self.registry.makeGauge(descriptor: Self.sockets, labels: [("namespace", namespace.name)]).set(to: Double(count))
        }
        self.uptime.set(to: hub.stats.uptime)
        let usage = hub.history.usage
        self.historyRooms.set(to: Double(usage.rooms))
        self.historyBytes.set(to: Double(usage.bytes))
        let evictions = hub.history.evictions
        self.mirroredEvictions.withLockedValue { mirrored in
            for (reason, count) in evictions where count > mirrored[reason, default: 0] {
                self.registry.makeCounter(descriptor: Self.historyEvictions, labels: [("reason", reason.rawValue)])
                    .increment(by: Int64(count - mirrored[reason, default: 0]))
                mirrored[reason] = count
            }
        }
        self.refreshCluster(from: hub)
        self.refreshStream(from: hub)
        self.refreshSSE(from: hub)

        // The engine (and the HTTP server sharing its counter) counts refusals; add the new ones.
        let refusals = hub.io.engine.refusals.snapshot
        self.mirroredRefusals.withLockedValue { mirrored in
            for (refusal, count) in refusals where count > mirrored[refusal, default: 0] {
                self.registry.makeCounter(descriptor: Self.connectionsRefused, labels: [("reason", refusal.rawValue)])
                    .increment(by: Int64(count - mirrored[refusal, default: 0]))
                mirrored[refusal] = count
            }
        }

        // The engine counts slow-consumer closes and volatile drops; add the new ones.
        self.mirroredOutbound.withLockedValue { mirrored in
            let bufferFull = hub.io.engine.bufferFullCloses
            let volatileDropped = hub.io.engine.volatileDrops
            if bufferFull > mirrored.bufferFull {
                self.bufferFullCloses.increment(by: Int64(bufferFull - mirrored.bufferFull))
                mirrored.bufferFull = bufferFull
            }
            if volatileDropped > mirrored.volatileDropped {
                self.volatileDrops.increment(by: Int64(volatileDropped - mirrored.volatileDropped))
                mirrored.volatileDropped = volatileDropped
            }
        }

        // Counters only go up: add what HubStats counted since the last scrape. Under the lock, so
        // concurrent scrapes do not add the same events twice.
        self.mirroredEvents.withLockedValue { mirrored in
            let received = hub.stats.eventsReceived
            let sent = hub.stats.eventsSent
            if received > mirrored.received {
                self.eventsReceived.increment(by: Int64(received - mirrored.received))
                mirrored.received = received
            }
            if sent > mirrored.sent {
                self.eventsSent.increment(by: Int64(sent - mirrored.sent))
                mirrored.sent = sent
            }
        }
    }
}
