/// The subscriptions by what they match: one-room and namespace-wide filters under their
/// namespace and room (as bytes), every-readable-room filters under their namespace. Not
/// thread-safe: ``EventBroadcaster`` keeps it behind a lock.
struct SubscriberIndex {
    private struct Entry {
        var filter: EventFilter
        var subscriber: any EventSubscriber
    }

    private var entries: [ObjectIdentifier: Entry] = [:]
    private var byRoom: [EventFilter.RoomKey: Set<ObjectIdentifier>] = [:]
    private var readable: [[UInt8]: Set<ObjectIdentifier>] = [:]

    /// How many subscriptions there are.
    var count: Int { self.entries.count }

    mutating func insert(_ subscriber: any EventSubscriber, filter: EventFilter) {
        let id = ObjectIdentifier(subscriber)
        self.remove(id)
        self.entries[id] = Entry(filter: filter, subscriber: subscriber)
        if let key = filter.roomKey {
            self.byRoom[key, default: []].insert(id)
        } else {
            self.readable[filter.namespaceKey, default: []].insert(id)
        }
    }

    mutating func remove(_ id: ObjectIdentifier) {
        guard let entry = self.entries.removeValue(forKey: id) else { return }
        if let key = entry.filter.roomKey {
            self.byRoom[key]?.remove(id)
            if self.byRoom[key]?.isEmpty == true { self.byRoom[key] = nil }
        } else {
            let namespace = entry.filter.namespaceKey
            self.readable[namespace]?.remove(id)
            if self.readable[namespace]?.isEmpty == true { self.readable[namespace] = nil }
        }
    }

    /// The subscribers `event` (whose room key is `key`) goes to, at most one per delivery group.
    func matching(_ event: HubEvent, key: EventFilter.RoomKey) -> [any EventSubscriber] {
        var result: [any EventSubscriber] = []
        var groups: Set<ObjectIdentifier> = []
        func add(_ id: ObjectIdentifier, roomChecked: Bool) {
            guard let entry = self.entries[id], entry.filter.wantsType(event.type),
                  roomChecked || entry.filter.wantsRoom(event.room) else { return }
            if let group = entry.subscriber.deliveryGroup, !groups.insert(group).inserted { return }
            result.append(entry.subscriber)
        }
        for id in self.byRoom[key] ?? [] {
            add(id, roomChecked: true)
        }
        for id in self.readable[key.namespace] ?? [] {
            add(id, roomChecked: false)
        }
        return result
    }
}
