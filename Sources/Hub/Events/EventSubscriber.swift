/// Receives hub events outside Socket.IO (the /stream gateway). Called from any thread.
public protocol EventSubscriber: AnyObject, Sendable {
    /// An event matching the subscription was published.
    func receive(_ event: HubEvent)

    /// Subscribers with the same non-`nil` group (one /stream connection's subscriptions) get each
    /// event once, through one of them, however many of their filters match it; the group sorts out
    /// which of its subscriptions it was for. `nil` (the default): this subscriber on its own.
    var deliveryGroup: ObjectIdentifier? { get }
}

extension EventSubscriber {
    /// No group: every matching subscriber gets the event.
    public var deliveryGroup: ObjectIdentifier? { nil }
}

/// Which events a subscription wants: one namespace, a ``Scope`` of rooms in it, and optionally a
/// list of event types.
///
/// Names are compared as exact Unicode scalars (UTF-8 bytes), never with `String ==` (which treats
/// canonically equivalent spellings, such as KELVIN SIGN and `K`, as equal): a room, namespace or
/// event type matches only if it is spelled exactly the same. ``matches(_:)`` is what
/// ``EventBroadcaster`` and the /stream session use; it does no allocation beyond hashing.
public struct EventFilter: Sendable, Hashable {
    /// Which rooms of the namespace.
    public enum Scope: Sendable, Hashable {
        /// One room.
        case room(String)
        /// Events published to the whole namespace (no room) only.
        case namespaceWide
        /// Every room `principal` may read (join) in the namespace — its `rooms` grant and the role
        /// gates of ``ChannelPolicy`` — and the events published to the whole namespace. Whether
        /// the principal may connect to the namespace at all is checked when subscribing.
        case readable(by: Principal)
    }

    /// The namespace.
    public var namespace: String {
        didSet {
            self.namespaceBytes = Array(self.namespace.utf8)
            self.rooms = RoomMatcher(self.scope, namespace: self.namespace)
        }
    }
    /// The rooms.
    public var scope: Scope {
        didSet { self.rooms = RoomMatcher(self.scope, namespace: self.namespace) }
    }
    /// Event types wanted, without repeats, in the order given; `nil` for every type.
    public var eventTypes: [String]? {
        didSet { self.typeBytes = Self.bytes(of: self.eventTypes) }
    }

    private var namespaceBytes: [UInt8]
    private var rooms: RoomMatcher
    private var typeBytes: Set<[UInt8]>?

    /// A filter on `scope` of `namespace`; `eventTypes` `nil` takes every type.
    public init(namespace: String, scope: Scope, eventTypes: [String]? = nil) {
        self.namespace = namespace
        self.scope = scope
        self.eventTypes = eventTypes
        self.namespaceBytes = Array(namespace.utf8)
        self.rooms = RoomMatcher(scope, namespace: namespace)
        self.typeBytes = Self.bytes(of: eventTypes)
    }

    /// A filter on one room of `namespace` (`room` `nil`: the events published to the whole
    /// namespace only); `types` `nil` takes every type.
    public init(namespace: String, room: String?, types: Set<String>? = nil) {
        self.init(namespace: namespace, scope: room.map(Scope.room) ?? .namespaceWide, eventTypes: types.map { $0.sorted() })
    }

    /// The room of a ``Scope/room(_:)`` filter; `nil` for the other scopes. Setting it makes the
    /// filter a one-room (or, with `nil`, a namespace-wide) filter.
    public var room: String? {
        get {
            if case .room(let room) = self.scope { return room }
            return nil
        }
        set { self.scope = newValue.map(Scope.room) ?? .namespaceWide }
    }

    /// Event types wanted; `nil` for all (``eventTypes`` as a set).
    public var types: Set<String>? {
        self.eventTypes.map(Set.init)
    }

    /// Whether `event` is one this filter wants.
    public func matches(_ event: HubEvent) -> Bool {
        event.namespace.utf8.elementsEqual(self.namespaceBytes)
            && self.wantsRoom(event.room)
            && self.wantsType(event.type)
    }

    /// Whether the filter's rooms include `room` (`nil`: an event published to the whole namespace).
    /// The namespace is not compared.
    public func wantsRoom(_ room: String?) -> Bool {
        self.rooms.includes(room)
    }

    /// Whether the filter takes events of `type`.
    public func wantsType(_ type: String) -> Bool {
        guard let typeBytes = self.typeBytes else { return true }
        return typeBytes.contains(Array(type.utf8))
    }

    /// The key the broadcaster indexes one-room and namespace-wide filters under; `nil` for
    /// ``Scope/readable(by:)`` (looked at for every event of the namespace).
    var roomKey: RoomKey? {
        switch self.rooms {
        case .one(let room): RoomKey(namespace: self.namespaceBytes, room: room)
        case .namespaceWide: RoomKey(namespace: self.namespaceBytes, room: nil)
        case .readable: nil
        }
    }

    /// The namespace as UTF-8 bytes.
    var namespaceKey: [UInt8] { self.namespaceBytes }

    private static func bytes(of types: [String]?) -> Set<[UInt8]>? {
        types.map { Set($0.map { Array($0.utf8) }) }
    }

    /// A namespace and a room (`nil`: the whole namespace), as UTF-8 bytes.
    struct RoomKey: Hashable, Sendable {
        var namespace: [UInt8]
        var room: [UInt8]?

        init(namespace: [UInt8], room: [UInt8]?) {
            self.namespace = namespace
            self.room = room
        }

        init(_ event: HubEvent) {
            self.namespace = Array(event.namespace.utf8)
            self.room = event.room.map { Array($0.utf8) }
        }
    }

    /// ``Scope`` prepared for matching: names as bytes, the principal's grants worked out once.
    private enum RoomMatcher: Sendable, Hashable {
        case one([UInt8])
        case namespaceWide
        /// `granted`: the `rooms` claim (`nil`: any room); `gated`: rooms of the namespace whose
        /// role gate the principal does not pass.
        case readable(granted: Set<[UInt8]>?, gated: Set<[UInt8]>)

        init(_ scope: Scope, namespace: String) {
            switch scope {
            case .room(let room):
                self = .one(Array(room.utf8))
            case .namespaceWide:
                self = .namespaceWide
            case .readable(let principal):
                // The same rules as ChannelPolicy.refusalToJoin, with names compared as bytes.
                var gated = Set<[UInt8]>()
                if namespace.utf8.elementsEqual("/".utf8) {
                    for (room, roles) in ChannelPolicy.gatedRoomsInMainNamespace where !principal.hasAny(of: roles) {
                        gated.insert(Array(room.utf8))
                    }
                }
                var granted: Set<[UInt8]>? = nil
                if let rooms = principal.rooms, !rooms.contains(where: { $0.value.utf8.elementsEqual("*".utf8) }) {
                    granted = Set(rooms.map { Array($0.value.utf8) })
                }
                self = .readable(granted: granted, gated: gated)
            }
        }

        func includes(_ room: String?) -> Bool {
            switch self {
            case .one(let bytes):
                guard let room else { return false }
                return room.utf8.elementsEqual(bytes)
            case .namespaceWide:
                return room == nil
            case .readable(let granted, let gated):
                guard let room else { return true }
                guard ChannelPolicy.isValidRoomName(room) else { return false }
                let bytes = Array(room.utf8)
                if gated.contains(bytes) { return false }
                return granted?.contains(bytes) ?? true
            }
        }
    }
}
