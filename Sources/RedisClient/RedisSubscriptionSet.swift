/// The channels and patterns a subscriber wants, and which of them Redis confirmed on the current
/// connection, as a value type: after a reconnect everything wanted is subscribed again.
public struct RedisSubscriptionSet: Sendable, Hashable {
    private var wanted: [RedisSubscriptionKind: [String: Bool]] = [.channel: [:], .pattern: [:]]

    /// An empty set.
    public init() {}

    /// Adds `names`; returns those not wanted before (to send a subscribe for, when connected).
    public mutating func add(_ names: [String], kind: RedisSubscriptionKind) -> [String] {
        var added: [String] = []
        for name in names where self.wanted[kind]![name] == nil {
            self.wanted[kind]![name] = false
            added.append(name)
        }
        return added
    }

    /// Removes `names`; returns those that were wanted (to send an unsubscribe for).
    public mutating func remove(_ names: [String], kind: RedisSubscriptionKind) -> [String] {
        names.filter { self.wanted[kind]!.removeValue(forKey: $0) != nil }
    }

    /// Redis confirmed `name`; `false` if it is no longer wanted (unsubscribed meanwhile).
    public mutating func confirm(_ name: String, kind: RedisSubscriptionKind) -> Bool {
        guard self.wanted[kind]![name] != nil else { return false }
        self.wanted[kind]![name] = true
        return true
    }

    /// Whether Redis confirmed `name` on the current connection.
    public func isConfirmed(_ name: String, kind: RedisSubscriptionKind) -> Bool {
        self.wanted[kind]![name] == true
    }

    /// Whether `name` is wanted.
    public func contains(_ name: String, kind: RedisSubscriptionKind) -> Bool {
        self.wanted[kind]![name] != nil
    }

    /// The connection dropped: nothing is confirmed any more. Returns what to subscribe again once
    /// reconnected, sorted.
    public mutating func connectionLost() -> (channels: [String], patterns: [String]) {
        for kind in [RedisSubscriptionKind.channel, .pattern] {
            for name in self.wanted[kind]!.keys { self.wanted[kind]![name] = false }
        }
        return self.all
    }

    /// Everything wanted, sorted.
    public var all: (channels: [String], patterns: [String]) {
        (self.wanted[.channel]!.keys.sorted(), self.wanted[.pattern]!.keys.sorted())
    }
}
