import NIOCore

/// A message received on a subscribed channel.
public struct RedisPubSubMessage: Sendable, Hashable {
    /// The channel it was published to.
    public var channel: String
    /// The pattern that matched, for a `PSUBSCRIBE` subscription.
    public var pattern: String?
    /// The published bytes.
    public var payload: ByteBuffer

    /// A message.
    public init(channel: String, pattern: String? = nil, payload: ByteBuffer) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }
}

/// A reply pushed on a connection in subscribe mode (RESP2 arrays), parsed.
public enum RedisPubSubPush: Hashable, Sendable {
    /// `message channel payload`
    case message(RedisPubSubMessage)
    /// `subscribe channel count` / `psubscribe pattern count`
    case subscribed(RedisSubscriptionKind, String)
    /// `unsubscribe channel count` / `punsubscribe pattern count`
    case unsubscribed(RedisSubscriptionKind, String)

    /// The push `value` stands for; `nil` for anything else.
    public init?(_ value: RESPValue) {
        guard let parts = value.array, let kind = parts.first?.string?.lowercased() else { return nil }
        switch (kind, parts.count) {
        case ("message", 3):
            guard let channel = parts[1].string, let payload = parts[2].buffer else { return nil }
            self = .message(RedisPubSubMessage(channel: channel, payload: payload))
        case ("pmessage", 4):
            guard let pattern = parts[1].string, let channel = parts[2].string, let payload = parts[3].buffer else { return nil }
            self = .message(RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload))
        case ("subscribe", 3), ("psubscribe", 3):
            guard let name = parts[1].string else { return nil }
            self = .subscribed(kind == "subscribe" ? .channel : .pattern, name)
        case ("unsubscribe", 3), ("punsubscribe", 3):
            // After unsubscribing from everything, Redis names a null channel.
            self = .unsubscribed(kind == "unsubscribe" ? .channel : .pattern, parts[1].string ?? "")
        default:
            return nil
        }
    }
}

/// Channel (`SUBSCRIBE`) or pattern (`PSUBSCRIBE`).
public enum RedisSubscriptionKind: Hashable, Sendable {
    /// An exact channel name.
    case channel
    /// A glob-style pattern.
    case pattern

    var subscribeCommand: String { self == .channel ? "SUBSCRIBE" : "PSUBSCRIBE" }
    var unsubscribeCommand: String { self == .channel ? "UNSUBSCRIBE" : "PUNSUBSCRIBE" }
}
