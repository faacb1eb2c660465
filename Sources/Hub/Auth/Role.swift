/// What a token holder may do in the hub.
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    /// A person using a web UI: chat.
    case user
    /// Dashboards: monitoring channel and chat.
    case monitor
    /// Operators: everything, including the admin channel and the status API.
    case admin
    /// Agents and backends: publish catalogue events into rooms they are granted, use the publish API.
    case service
}
