/// Receives hub events outside Socket.IO (the /stream gateway). Called from any thread.
public protocol EventSubscriber: AnyObject, Sendable {
    /// An event matching the subscription was published.
    func receive(_ event: HubEvent)
}

/// Which events a subscription wants.
public struct EventFilter: Sendable, Hashable {
    /// The namespace.
    public var namespace: String
    /// The room; `nil` for events published to the whole namespace only.
    public var room: String?
    /// Event types wanted; `nil` for all.
    public var types: Set<String>?

    /// Creates a filter.
    public init(namespace: String, room: String?, types: Set<String>? = nil) {
        self.namespace = namespace
        self.room = room
        self.types = types
    }
}
