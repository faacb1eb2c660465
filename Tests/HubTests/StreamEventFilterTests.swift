@testable import Hub
import SocketIO
import Testing

/// ``EventFilter`` (one room, namespace-wide, every readable room; exact-scalar names) and the
/// broadcaster's ``SubscriberIndex`` (lookup and once-per-delivery-group), which the /stream
/// gateway's subscriptions rest on.
@Suite struct StreamEventFilterTests {
    static let kelvin = "\u{212A}"

    func event(_ type: String = "chat_message", namespace: String = "/", room: String?) -> HubEvent {
        HubEvent(type: type, namespace: namespace, room: room, data: [:], source: "test")
    }

    @Test func oneRoomMatchesExactScalars() {
        let filter = EventFilter(namespace: "/chat", scope: .room("K"), eventTypes: ["chat_message"])
        #expect(filter.matches(event(namespace: "/chat", room: "K")))
        #expect(!filter.matches(event(namespace: "/chat", room: Self.kelvin)))
        #expect(!filter.matches(event(namespace: "/", room: "K")))
        #expect(!filter.matches(event("task_failed", namespace: "/chat", room: "K")))
        #expect(!filter.matches(event(namespace: "/chat", room: nil)))
        #expect(filter.room == "K")
        #expect(filter.types == ["chat_message"])
    }

    @Test func eventTypesMatchExactScalars() {
        let filter = EventFilter(namespace: "/", scope: .room("r"), eventTypes: ["K", Self.kelvin])
        #expect(filter.wantsType("K"))
        #expect(filter.wantsType(Self.kelvin))
        let onlyK = EventFilter(namespace: "/", scope: .room("r"), eventTypes: ["K"])
        #expect(!onlyK.wantsType(Self.kelvin))
        #expect(onlyK != EventFilter(namespace: "/", scope: .room("r"), eventTypes: [Self.kelvin]))
    }

    @Test func namespaceWideIsTheOldNilRoom() {
        let filter = EventFilter(namespace: "/monitoring", room: nil)
        #expect(filter.scope == .namespaceWide)
        #expect(filter.matches(event(namespace: "/monitoring", room: nil)))
        #expect(!filter.matches(event(namespace: "/monitoring", room: "ops")))
    }

    @Test func readableAgreesWithTheChannelPolicy() {
        let principals = [
            Principal(subject: "u", roles: [.user]),
            Principal(subject: "m", roles: [.monitor]),
            Principal(subject: "a", roles: [.admin]),
            Principal(subject: "s", roles: [.service], rooms: ["ops", "chat"]),
            Principal(subject: "w", roles: [.user], rooms: ["*"]),
            Principal(subject: "g", roles: [.user], rooms: ["lobby", "K"]),
        ]
        let rooms = ["lobby", "ops", "chat", "monitoring", "admin", "K", Self.kelvin, "*", "", String(repeating: "r", count: 129)]
        for principal in principals {
            for namespace in ChannelPolicy.namespaces {
                let filter = EventFilter(namespace: namespace, scope: .readable(by: principal))
                #expect(filter.wantsRoom(nil), "namespace-wide events of \(namespace)")
                for room in rooms {
                    let policy = ChannelPolicy.refusalToJoin(principal, room: room, in: namespace) == nil
                    // Principal.mayJoin compares with Set<String>: K and KELVIN SIGN collide there.
                    if room == Self.kelvin, principal.rooms?.contains("K") == true { continue }
                    #expect(filter.wantsRoom(room) == policy, "\(principal.subject) \(namespace) \(room)")
                }
            }
        }
        let limited = EventFilter(namespace: "/", scope: .readable(by: principals[5]))
        #expect(limited.wantsRoom("K"))
        #expect(!limited.wantsRoom(Self.kelvin))
    }

    // MARK: - SubscriberIndex

    final class Recorder: EventSubscriber {
        let deliveryGroup: ObjectIdentifier?
        init(group: ObjectIdentifier? = nil) { self.deliveryGroup = group }
        func receive(_ event: HubEvent) {}
    }

    func matching(_ index: SubscriberIndex, _ event: HubEvent) -> Set<ObjectIdentifier> {
        Set(index.matching(event, key: EventFilter.RoomKey(event)).map { ObjectIdentifier($0) })
    }

    @Test func indexFindsRoomNamespaceWideAndReadableSubscriptions() {
        var index = SubscriberIndex()
        let room = Recorder()
        let wide = Recorder()
        let readable = Recorder()
        let other = Recorder()
        index.insert(room, filter: EventFilter(namespace: "/", room: "ops"))
        index.insert(wide, filter: EventFilter(namespace: "/", room: nil))
        index.insert(readable, filter: EventFilter(namespace: "/", scope: .readable(by: Principal(subject: "x", roles: [.user]))))
        index.insert(other, filter: EventFilter(namespace: "/chat", room: "ops"))
        #expect(index.count == 4)
        #expect(matching(index, event(room: "ops")) == [ObjectIdentifier(room), ObjectIdentifier(readable)])
        #expect(matching(index, event(room: nil)) == [ObjectIdentifier(wide), ObjectIdentifier(readable)])
        #expect(matching(index, event(room: "admin")) == [])
        #expect(matching(index, event(room: Self.kelvin)) == [ObjectIdentifier(readable)])
        // Re-inserting replaces; removing ends.
        index.insert(room, filter: EventFilter(namespace: "/", room: "elsewhere"))
        #expect(matching(index, event(room: "ops")) == [ObjectIdentifier(readable)])
        index.remove(ObjectIdentifier(readable))
        index.remove(ObjectIdentifier(readable))
        #expect(matching(index, event(room: "ops")) == [])
        #expect(index.count == 3)
    }

    @Test func aDeliveryGroupGetsAnEventOnce() {
        var index = SubscriberIndex()
        let owner = Recorder()
        let group = ObjectIdentifier(owner)
        let first = Recorder(group: group)
        let second = Recorder(group: group)
        let loner = Recorder()
        index.insert(first, filter: EventFilter(namespace: "/", room: "ops"))
        index.insert(second, filter: EventFilter(namespace: "/", scope: .readable(by: Principal(subject: "x", roles: [.admin]))))
        index.insert(loner, filter: EventFilter(namespace: "/", room: "ops"))
        let found = index.matching(event(room: "ops"), key: EventFilter.RoomKey(event(room: "ops")))
        #expect(found.count == 2)
        #expect(found.contains { $0 === loner })
        #expect(matching(index, event(room: "other")) == [ObjectIdentifier(second)])
    }
}
