@testable import Hub
import Foundation
import SocketIO
import Testing

/// ``StreamSessionState``: authentication, subscriptions, the replay/live hand-over, the
/// slow-consumer bound and closing — the /stream protocol without I/O.
@Suite struct StreamSessionStateTests {
    typealias State = StreamSessionState
    typealias Action = StreamSessionState.Action

    static let admin = Principal(subject: "ada", roles: [.admin, .user])
    static let user = Principal(subject: "uma", roles: [.user])

    func authenticated(_ principal: Principal = Self.admin, pathRoom: String? = nil, maxSubscriptions: Int = 64,
                       maxBufferedBytes: Int = 1000) -> State {
        var state = State(pathRoom: pathRoom, maxSubscriptions: maxSubscriptions, maxBufferedBytes: maxBufferedBytes)
        _ = state.start(queryToken: nil)
        _ = state.authenticated(.success(principal))
        return state
    }

    func event(_ type: String = "chat_message", room: String = "ops", namespace: String = "/", offset: UInt64?) -> HubEvent {
        var event = HubEvent(type: type, namespace: namespace, room: room, data: ["n": .number(Double(offset ?? 0))], source: "test")
        event.offset = offset
        return event
    }

    func error(_ message: String, reason: String? = nil, namespace: String? = nil, room: String? = nil,
               ref: JSONValue? = nil) -> Action {
        .send(State.error(message, reason: reason, namespace: namespace, room: room, ref: ref))
    }

    /// Subscribes and starts the subscription with `latestOffset` and no history; returns its id.
    func subscribeLive(_ state: inout State, room: String = "ops", types: [String]? = nil, latestOffset: UInt64 = 0) throws -> State.SubscriptionID {
        var text = #"{"action":"subscribe","room":""# + room + #"""#
        if let types { text += #","event_types":"# + JSONValue.array(types.map(JSONValue.string)).jsonString }
        let actions = state.receive(text: text + "}")
        guard case .startSubscription(let id, _, _) = try #require(actions.last) else {
            Issue.record("expected startSubscription, got \(actions)")
            return 0
        }
        _ = state.subscriptionStarted(id: id, latestOffset: latestOffset, history: [])
        return id
    }

    // MARK: - Authentication

    @Test func startWithoutTokenWaitsForAuthMessage() {
        var state = State(pathRoom: nil, maxSubscriptions: 64, maxBufferedBytes: 1000)
        #expect(state.start(queryToken: nil) == [.startAuthTimer])
        #expect(state.phase == .awaitingAuth)
    }

    @Test func startWithQueryTokenChecksItAtOnce() {
        var state = State(pathRoom: nil, maxSubscriptions: 64, maxBufferedBytes: 1000)
        #expect(state.start(queryToken: "t0k") == [.authenticate(token: "t0k")])
    }

    @Test func beforeAuthOnlyAuthAndPingAreAccepted() {
        var state = State(pathRoom: nil, maxSubscriptions: 64, maxBufferedBytes: 1000)
        _ = state.start(queryToken: nil)
        #expect(state.receive(text: #"{"action":"ping"}"#) == [.send(["type": "pong"])])
        #expect(state.receive(text: #"{"action":"subscribe","room":"ops"}"#) == [error("not authenticated")])
        #expect(state.receive(text: #"{"action":"unsubscribe","room":"ops"}"#) == [error("not authenticated")])
        #expect(state.receive(text: #"{"action":"auth","token":"abc"}"#) == [.authenticate(token: "abc")])
        #expect(state.phase == .awaitingAuth)
    }

    @Test func successfulAuthenticationAnnouncesUserAndSortedRoles() throws {
        var state = State(pathRoom: nil, maxSubscriptions: 64, maxBufferedBytes: 1000)
        _ = state.start(queryToken: nil)
        let actions = state.authenticated(.success(Principal(subject: "ada", roles: [.user, .admin, .monitor])))
        #expect(actions.count == 3)
        #expect(actions.first == .cancelAuthTimer)
        #expect(actions.last == .armTokenExpiry(nil), "a token without exp never expires")
        guard case .send(let message) = actions[1] else { Issue.record("\(actions)"); return }
        #expect(message.jsonString == #"{"type":"authenticated","user":"ada","roles":["admin","monitor","user"]}"#)
        #expect(state.phase == .authenticated(Principal(subject: "ada", roles: [.user, .admin, .monitor])))
    }

    @Test func aSecondAuthRefreshesTheToken() throws {
        let expires = Date(timeIntervalSince1970: 2_000_000_000)
        let first = Principal(subject: "ada", roles: [.admin, .user], expiresAt: expires)
        var state = authenticated(first)
        _ = try subscribeLive(&state)
        #expect(state.receive(text: #"{"action":"auth","token":"x","ref":1}"#) == [.authenticate(token: "x")])
        #expect(state.receive(text: #"{"action":"auth","token":"y"}"#) == [error("refresh in progress")])
        // Refused: told why, the connection keeps its token and subscriptions.
        #expect(state.authenticated(.failure(.unauthorized(reason: "token expired")))
            == [.send(["type": "error", "message": "refresh refused", "reason": "token expired", "ref": 1])])
        #expect(state.phase == .authenticated(first))
        #expect(state.subscriptionCount == 1)
        // Another subject: refused.
        _ = state.receive(text: #"{"action":"auth","token":"z"}"#)
        #expect(state.authenticated(.success(Principal(subject: "eve", roles: [.admin])))
            == [error("refresh refused", reason: "token belongs to another user")])
        // The same subject and grants: the new expiry, subscriptions kept.
        let later = Principal(subject: "ada", roles: [.admin, .user], expiresAt: expires.addingTimeInterval(3600))
        _ = state.receive(text: #"{"action":"auth","token":"w"}"#)
        let actions = state.authenticated(.success(later))
        #expect(actions.last == .armTokenExpiry(later.expiresAt))
        #expect(state.phase == .authenticated(later))
        #expect(state.subscriptionCount == 1)
        // Other grants: every subscription ends, to be made again under the new ones.
        let narrower = Principal(subject: "ada", roles: [.user], rooms: ["ops"], expiresAt: nil)
        _ = state.receive(text: #"{"action":"auth","token":"v"}"#)
        let narrowed = state.authenticated(.success(narrower))
        #expect(narrowed.contains(.send(["type": "unsubscribed", "namespace": "/", "room": "ops", "reason": "grants changed"])))
        #expect(state.subscriptionCount == 0)
        #expect(narrowed.last == .armTokenExpiry(nil))
    }

    @Test func anExpiringTokenIsAnnouncedThenTheConnectionCloses() throws {
        let expires = Date(timeIntervalSince1970: 2_000_000_000)
        var state = authenticated(Principal(subject: "ada", roles: [.user], expiresAt: expires))
        let id = try subscribeLive(&state)
        #expect(state.tokenExpiring(now: expires.addingTimeInterval(-30)) == [
            .send(["type": "token_expiring", "expires_at": .string(HubEvent.format(expires)), "in_ms": 30_000]),
        ])
        #expect(state.tokenExpired() == [
            .send(["type": "token_expired"]), .endSubscription(id: id), .close(code: .policyViolation, reason: "token expired"),
        ])
        #expect(state.phase == .closed)
        #expect(state.tokenExpired() == [])
    }

    @Test func failedAuthenticationSaysWhyAndCloses() {
        var state = State(pathRoom: nil, maxSubscriptions: 64, maxBufferedBytes: 1000)
        _ = state.start(queryToken: "bad")
        #expect(state.authenticated(.failure(.unauthorized(reason: "invalid signature"))) == [
            error("unauthorized", reason: "invalid signature"),
            .cancelAuthTimer,
            .close(code: .policyViolation, reason: "unauthorized"),
        ])
        #expect(state.phase == .closed)
        #expect(state.receive(text: #"{"action":"ping"}"#) == [])
    }

    @Test func authTimeoutClosesWith1008() {
        var state = State(pathRoom: nil, maxSubscriptions: 64, maxBufferedBytes: 1000)
        _ = state.start(queryToken: nil)
        #expect(state.authTimedOut() == [
            error("authentication timeout"),
            .cancelAuthTimer,
            .close(code: .policyViolation, reason: "authentication timeout"),
        ])
        #expect(state.phase == .closed)
        #expect(state.authenticated(.success(Self.admin)) == [])
    }

    @Test func authTimeoutAfterAuthenticationDoesNothing() {
        var state = authenticated()
        #expect(state.authTimedOut() == [])
        #expect(state.phase == .authenticated(Self.admin))
    }

    @Test func pathRoomIsSubscribedInTheDefaultNamespaceOnAuthentication() throws {
        var state = State(pathRoom: "lobby", maxSubscriptions: 64, maxBufferedBytes: 1000)
        _ = state.start(queryToken: "t")
        let actions = state.authenticated(.success(Self.user))
        #expect(actions.last == .startSubscription(id: 1, filter: EventFilter(namespace: "/", room: "lobby"), since: nil))
    }

    @Test func forbiddenPathRoomIsAnErrorNotAClose() {
        var state = State(pathRoom: "admin", maxSubscriptions: 64, maxBufferedBytes: 1000)
        _ = state.start(queryToken: "t")
        let actions = state.authenticated(.success(Self.user))
        #expect(actions.last == error("forbidden", reason: "role required for room admin", namespace: "/", room: "admin"))
        #expect(state.phase == .authenticated(Self.user))
    }

    // MARK: - Client messages

    @Test func malformedMessagesAreAnsweredWithoutClosing() {
        var state = authenticated()
        #expect(state.receive(text: "not json") == [error("invalid JSON")])
        #expect(state.receive(text: #"{"action":"dance"}"#) == [error("unknown action: dance")])
        #expect(state.receive(text: #"{"action":"publish","event":"e"}"#) == [error("missing field: room")])
        #expect(state.receiveBinary() == [error("binary frames are not supported")])
        #expect(state.receive(text: #"{"action":"ping"}"#) == [.send(["type": "pong"])])
        #expect(state.phase == .authenticated(Self.admin))
    }

    // MARK: - Subscribing

    @Test func subscribeStartsWithFilterAndSince() {
        var state = authenticated()
        let actions = state.receive(
            text: #"{"action":"subscribe","namespace":"/monitoring","room":"ops","event_types":["alert_created"],"since":3}"#)
        #expect(actions == [.startSubscription(
            id: 1, filter: EventFilter(namespace: "/monitoring", room: "ops", types: ["alert_created"]), since: 3)])
        #expect(state.subscriptionCount == 1)
    }

    @Test func subscribedReportsFieldsInOrder() throws {
        var state = authenticated()
        _ = state.receive(text: #"{"action":"subscribe","namespace":"/monitoring","room":"ops","event_types":["alert_created"]}"#)
        let actions = state.subscriptionStarted(id: 1, latestOffset: 12, history: [])
        guard case .send(let message) = try #require(actions.first) else { Issue.record("\(actions)"); return }
        #expect(message.jsonString
            == #"{"type":"subscribed","namespace":"/monitoring","room":"ops","event_types":["alert_created"],"latest_offset":12}"#)
        #expect(actions.count == 1)
    }

    @Test func subscribedWithoutEventTypesSaysNull() throws {
        var state = authenticated()
        _ = state.receive(text: #"{"action":"subscribe","room":"ops"}"#)
        let actions = state.subscriptionStarted(id: 1, latestOffset: 0, history: [])
        guard case .send(let message) = try #require(actions.first) else { Issue.record("\(actions)"); return }
        #expect(message.jsonString == #"{"type":"subscribed","namespace":"/","room":"ops","event_types":null,"latest_offset":0}"#)
    }

    @Test func subscribeChecksTheChannelPolicy() {
        var user = authenticated(Self.user)
        #expect(user.receive(text: #"{"action":"subscribe","namespace":"/nope","room":"r"}"#)
            == [error("invalid namespace", namespace: "/nope", room: "r")])
        #expect(user.receive(text: #"{"action":"subscribe","room":""}"#)
            == [error("invalid room name", reason: "1 to 128 characters", namespace: "/", room: "")])
        let long = String(repeating: "r", count: 129)
        #expect(user.receive(text: #"{"action":"subscribe","room":""# + long + #""}"#)
            == [error("invalid room name", reason: "1 to 128 characters", namespace: "/", room: long)])
        #expect(user.receive(text: #"{"action":"subscribe","namespace":"/monitoring","room":"ops"}"#)
            == [error("forbidden", reason: "role required for /monitoring", namespace: "/monitoring", room: "ops")])
        #expect(user.receive(text: #"{"action":"subscribe","namespace":"/admin","room":"ops"}"#)
            == [error("forbidden", reason: "role required for /admin", namespace: "/admin", room: "ops")])
        #expect(user.receive(text: #"{"action":"subscribe","room":"monitoring"}"#)
            == [error("forbidden", reason: "role required for room monitoring", namespace: "/", room: "monitoring")])
        #expect(user.subscriptionCount == 0)

        var granted = authenticated(Principal(subject: "g", roles: [.user], rooms: ["lobby"]))
        #expect(granted.receive(text: #"{"action":"subscribe","namespace":"/chat","room":"other"}"#)
            == [error("forbidden", reason: "room not granted", namespace: "/chat", room: "other")])
        #expect(granted.receive(text: #"{"action":"subscribe","namespace":"/chat","room":"lobby"}"#)
            == [.startSubscription(id: 1, filter: EventFilter(namespace: "/chat", room: "lobby"), since: nil)])
    }

    @Test func subscribingAgainReplacesTheSubscription() throws {
        var state = authenticated()
        let first = try subscribeLive(&state, room: "ops")
        let actions = state.receive(text: #"{"action":"subscribe","room":"ops","event_types":["task_failed"]}"#)
        #expect(actions == [
            .endSubscription(id: first),
            .startSubscription(id: first + 1, filter: EventFilter(namespace: "/", room: "ops", types: ["task_failed"]), since: nil),
        ])
        #expect(state.subscriptionCount == 1)
        // A late event the old subscription wanted and the new one does not is dropped.
        _ = state.subscriptionStarted(id: first + 1, latestOffset: 0, history: [])
        #expect(state.receive(event: event("chat_message", offset: 1)) == [])
        let failed = event("task_failed", offset: 1)
        #expect(state.receive(event: failed) == [.send(State.eventMessage(failed))])
    }

    @Test func subscriptionsAreBounded() throws {
        var state = authenticated(maxSubscriptions: 2)
        _ = try subscribeLive(&state, room: "a")
        _ = try subscribeLive(&state, room: "b")
        #expect(state.receive(text: #"{"action":"subscribe","room":"c"}"#)
            == [error("too many subscriptions", reason: "at most 2 per connection", namespace: "/", room: "c")])
        // Replacing one at the limit is fine; so is a new one after an unsubscribe.
        #expect(state.receive(text: #"{"action":"subscribe","room":"a"}"#).last
            == .startSubscription(id: 3, filter: EventFilter(namespace: "/", room: "a"), since: nil))
        _ = state.receive(text: #"{"action":"unsubscribe","room":"b"}"#)
        #expect(state.receive(text: #"{"action":"subscribe","room":"c"}"#)
            == [.startSubscription(id: 4, filter: EventFilter(namespace: "/", room: "c"), since: nil)])
    }

    @Test func startingAnEndedSubscriptionUnregistersIt() {
        var state = authenticated()
        #expect(state.subscriptionStarted(id: 9, latestOffset: 3, history: []) == [.endSubscription(id: 9)])
    }

    // MARK: - Replay and live events

    @Test func replaySendsKeptEventsAfterSinceUpToTheLatestOffset() throws {
        var state = authenticated()
        _ = state.receive(text: #"{"action":"subscribe","room":"ops","since":2}"#)
        // History read after the latest offset (5) may already hold a newer event (6): it will come live.
        let history = (3...6).map { event(offset: $0) }
        let actions = state.subscriptionStarted(id: 1, latestOffset: 5, history: history)
        #expect(Array(actions.dropFirst()) == history.prefix(3).map { Action.replay(State.eventMessage($0)) })
        // Live: 4 and 5 were replayed, 6 was not.
        #expect(state.receive(event: event(offset: 5)) == [])
        let six = event(offset: 6)
        #expect(state.receive(event: six) == [.send(State.eventMessage(six))])
    }

    @Test func replayKeepsOnlyWantedTypes() throws {
        var state = authenticated()
        _ = state.receive(text: #"{"action":"subscribe","room":"ops","event_types":["task_failed"],"since":0}"#)
        let history = [event("chat_message", offset: 1), event("task_failed", offset: 2), event("chat_message", offset: 3)]
        let actions = state.subscriptionStarted(id: 1, latestOffset: 3, history: history)
        #expect(actions.count == 2)
        #expect(actions.last == .replay(State.eventMessage(history[1])))
    }

    @Test func withoutSinceNothingIsReplayedAndOnlyNewerEventsAreLive() {
        var state = authenticated()
        _ = state.receive(text: #"{"action":"subscribe","room":"ops"}"#)
        #expect(state.subscriptionStarted(id: 1, latestOffset: 7, history: [event(offset: 7)]).count == 1)
        #expect(state.receive(event: event(offset: 7)) == [])
        let eight = event(offset: 8)
        #expect(state.receive(event: eight) == [.send(State.eventMessage(eight))])
    }

    @Test func eventsArrivingWhileStartingAreBufferedAndDeduplicated() {
        var state = authenticated()
        _ = state.receive(text: #"{"action":"subscribe","room":"ops","since":0}"#)
        let four = event(offset: 4)
        let five = event(offset: 5)
        let ephemeral = event("typing_indicator", offset: nil)
        #expect(state.receive(event: four) == [])
        #expect(state.receive(event: ephemeral) == [])
        #expect(state.receive(event: five) == [])
        // The same event (4) both in the history read and delivered live while starting: sent once.
        let history = (1...3).map { event(offset: $0) } + [four]
        let actions = state.subscriptionStarted(id: 1, latestOffset: 4, history: history)
        #expect(actions.count == 1 + 4 + 2)
        #expect(Array(actions.suffix(2)) == [.send(State.eventMessage(ephemeral)), .send(State.eventMessage(five))])
        #expect(actions.filter { $0 == .replay(State.eventMessage(four)) || $0 == .send(State.eventMessage(four)) }.count == 1)
    }

    @Test func liveEventsOfUnwantedTypesAreDropped() throws {
        var state = authenticated()
        _ = try subscribeLive(&state, types: ["alert_created"])
        #expect(state.receive(event: event("chat_message", offset: 1)) == [])
        let alert = event("alert_created", offset: 2)
        #expect(state.receive(event: alert) == [.send(State.eventMessage(alert))])
    }

    @Test func ephemeralEventsAreAlwaysLive() throws {
        var state = authenticated()
        _ = try subscribeLive(&state, latestOffset: 50)
        let typing = event("typing_indicator", offset: nil)
        #expect(state.receive(event: typing) == [.send(State.eventMessage(typing))])
    }

    @Test func eventMessageWrapsTheEventJSON() {
        let event = event(offset: 3)
        #expect(State.eventMessage(event).jsonString == #"{"type":"event","event":"# + event.json.jsonString + "}")
    }

    // MARK: - Unsubscribing

    @Test func unsubscribeEndsTheSubscription() throws {
        var state = authenticated()
        let id = try subscribeLive(&state, room: "ops")
        let actions = state.receive(text: #"{"action":"unsubscribe","namespace":"/","room":"ops"}"#)
        #expect(actions == [.endSubscription(id: id), .send(["type": "unsubscribed", "namespace": "/", "room": "ops"])])
        if case .send(let message) = actions.last {
            #expect(message.jsonString == #"{"type":"unsubscribed","namespace":"/","room":"ops"}"#)
        }
        #expect(state.receive(event: event(offset: 1)) == [])
        #expect(state.subscriptionCount == 0)
    }

    @Test func unsubscribeFromSomethingNotSubscribedIsAnError() throws {
        var state = authenticated()
        _ = try subscribeLive(&state, room: "ops")
        #expect(state.receive(text: #"{"action":"unsubscribe","namespace":"/chat","room":"ops"}"#)
            == [error("not subscribed", namespace: "/chat", room: "ops")])
        #expect(state.subscriptionCount == 1)
    }

    // MARK: - Slow consumer and closing

    @Test func slowConsumerIsClosedOnceTheBoundIsPassedWhileNotWritable() throws {
        var state = authenticated(maxBufferedBytes: 100)
        let a = try subscribeLive(&state, room: "a")
        let b = try subscribeLive(&state, room: "b")
        #expect(state.wrote(bytes: 60, channelWritable: false) == [])
        #expect(state.wrote(bytes: 40, channelWritable: false) == [])
        #expect(state.wrote(bytes: 1, channelWritable: false) == [
            .endSubscription(id: a), .endSubscription(id: b), .close(code: .policyViolation, reason: "slow consumer"),
        ])
        #expect(state.phase == .closed)
        #expect(state.wrote(bytes: 1000, channelWritable: false) == [])
    }

    @Test func becomingWritableResetsTheCount() {
        var state = authenticated(maxBufferedBytes: 100)
        #expect(state.wrote(bytes: 90, channelWritable: false) == [])
        #expect(state.wrote(bytes: 90, channelWritable: true) == [])
        #expect(state.wrote(bytes: 90, channelWritable: false) == [])
        #expect(state.phase == .authenticated(Self.admin))
    }

    @Test func closeEndsSubscriptionsOnce() throws {
        var state = authenticated()
        let id = try subscribeLive(&state)
        #expect(state.close(code: .dataInconsistentWithMessage, reason: "invalid UTF-8")
            == [.endSubscription(id: id), .close(code: .dataInconsistentWithMessage, reason: "invalid UTF-8")])
        #expect(state.close(code: .normalClosure, reason: "") == [])
        #expect(state.connectionClosed() == [])
        #expect(state.receive(event: event(offset: 1)) == [])
        #expect(state.receiveBinary() == [])
    }

    @Test func connectionGoneBeforeAuthStopsTheTimer() {
        var state = State(pathRoom: nil, maxSubscriptions: 64, maxBufferedBytes: 1000)
        _ = state.start(queryToken: nil)
        #expect(state.connectionClosed() == [.cancelAuthTimer])
        #expect(state.start(queryToken: nil) == [])
    }

    // MARK: - ref and ping

    @Test func refIsEchoedOnTheAnswer() throws {
        var state = State(pathRoom: nil, maxSubscriptions: 64, maxBufferedBytes: 1000)
        _ = state.start(queryToken: nil)
        #expect(state.receive(text: #"{"action":"ping","ref":"p"}"#) == [.send(["type": "pong", "ref": "p"])])
        #expect(state.receive(text: #"{"action":"subscribe","room":"r","ref":1}"#) == [error("not authenticated", ref: 1)])
        #expect(state.receive(text: #"{"action":"auth","token":"t","ref":"a"}"#) == [.authenticate(token: "t")])
        let actions = state.authenticated(.success(Self.user))
        guard case .send(let hello) = actions.dropLast().last else { Issue.record("\(actions)"); return }
        #expect(hello.jsonString == #"{"type":"authenticated","user":"uma","roles":["user"],"ref":"a"}"#)

        #expect(state.receive(text: #"{"action":"subscribe","room":"ops","ref":"s"}"#).last
            == .startSubscription(id: 1, filter: EventFilter(namespace: "/", room: "ops"), since: nil))
        let subscribed = state.subscriptionStarted(id: 1, latestOffset: 4, history: [])
        guard case .send(let answer) = try #require(subscribed.first) else { Issue.record("\(subscribed)"); return }
        #expect(answer.jsonString == #"{"type":"subscribed","namespace":"/","room":"ops","event_types":null,"latest_offset":4,"ref":"s"}"#)
        #expect(state.receive(text: #"{"action":"unsubscribe","room":"ops","ref":"u"}"#).last
            == .send(["type": "unsubscribed", "namespace": "/", "room": "ops", "ref": "u"]))
        #expect(state.receive(text: #"{"action":"dance","ref":"d"}"#) == [error("unknown action: dance", ref: "d")])
    }

    @Test func failedAuthenticationCarriesTheRef() {
        var state = State(pathRoom: nil, maxSubscriptions: 64, maxBufferedBytes: 1000)
        _ = state.start(queryToken: nil)
        _ = state.receive(text: #"{"action":"auth","token":"t","ref":9}"#)
        #expect(state.authenticated(.failure(.unauthorized(reason: "token expired"))).first
            == error("unauthorized", reason: "token expired", ref: 9))
    }

    @Test func typePingIsAnsweredLikeActionPing() {
        var state = authenticated()
        #expect(state.receive(text: #"{"type":"ping"}"#) == [.send(["type": "pong"])])
        #expect(state.receive(text: #"{"action":"ping"}"#) == [.send(["type": "pong"])])
    }

    // MARK: - Subscribing without a room

    @Test func subscribeWithoutRoomCoversEveryReadableRoomAndNamespaceWideEvents() throws {
        var state = authenticated()
        let actions = state.receive(text: #"{"action":"subscribe","namespace":"/monitoring","event_types":["alert_created"]}"#)
        #expect(actions == [.startSubscription(
            id: 1, filter: EventFilter(namespace: "/monitoring", scope: .readable(by: Self.admin), eventTypes: ["alert_created"]),
            since: nil)])
        let started = state.subscriptionStarted(id: 1, latestOffset: 0, history: [])
        guard case .send(let answer) = try #require(started.first) else { Issue.record("\(started)"); return }
        #expect(answer.jsonString == #"{"type":"subscribed","namespace":"/monitoring","room":null,"event_types":["alert_created"]}"#)

        let inOps = event("alert_created", room: "ops", namespace: "/monitoring", offset: 1)
        let inOther = event("alert_created", room: "other", namespace: "/monitoring", offset: 9)
        var wide = HubEvent(type: "alert_created", namespace: "/monitoring", room: nil, data: [:], source: "test")
        wide.offset = nil
        #expect(state.receive(event: inOps) == [.send(State.eventMessage(inOps))])
        #expect(state.receive(event: inOther) == [.send(State.eventMessage(inOther))])
        #expect(state.receive(event: wide) == [.send(State.eventMessage(wide))])
        #expect(state.receive(event: event("task_failed", room: "ops", namespace: "/monitoring", offset: 2)) == [])
        #expect(state.receive(event: event("alert_created", room: "ops", namespace: "/", offset: 3)) == [])
    }

    @Test func everyReadableRoomFollowsTheGrants() throws {
        let limited = Principal(subject: "g", roles: [.user], rooms: ["lobby", "K"])
        var state = authenticated(limited)
        _ = state.receive(text: #"{"action":"subscribe"}"#)
        _ = state.subscriptionStarted(id: 1, latestOffset: 0, history: [])
        let lobby = event(room: "lobby", offset: 1)
        #expect(state.receive(event: lobby) == [.send(State.eventMessage(lobby))])
        #expect(state.receive(event: event(room: "secret", offset: 2)) == [])
        // KELVIN SIGN is not K: a grant is exact scalars.
        #expect(state.receive(event: event(room: "\u{212A}", offset: 3)) == [])
        let kay = event(room: "K", offset: 4)
        #expect(state.receive(event: kay) == [.send(State.eventMessage(kay))])

        // A user may not read the gated rooms of /, even with every room granted.
        var user = authenticated(Self.user)
        _ = user.receive(text: #"{"action":"subscribe"}"#)
        _ = user.subscriptionStarted(id: 1, latestOffset: 0, history: [])
        #expect(user.receive(event: event(room: "admin", offset: 1)) == [])
        #expect(user.receive(event: event(room: "monitoring", offset: 2)) == [])
        let chat = event(room: "chat", offset: 3)
        #expect(user.receive(event: chat) == [.send(State.eventMessage(chat))])
    }

    @Test func subscribeWithoutRoomNeedsTheNamespace() {
        var user = authenticated(Self.user)
        #expect(user.receive(text: #"{"action":"subscribe","namespace":"/monitoring"}"#)
            == [error("forbidden", reason: "role required for /monitoring", namespace: "/monitoring")])
        #expect(user.receive(text: #"{"action":"subscribe","namespace":"/x"}"#) == [error("invalid namespace", namespace: "/x")])
        #expect(user.receive(text: #"{"action":"subscribe","since":1}"#)
            == [error("invalid field: since must be absent without a room (offsets are per room)")])
        #expect(user.subscriptionCount == 0)
    }

    @Test func overlappingSubscriptionsDeliverAnEventOnce() throws {
        var state = authenticated()
        let room = try subscribeLive(&state, room: "ops")
        _ = state.receive(text: #"{"action":"subscribe"}"#)
        _ = state.subscriptionStarted(id: room + 1, latestOffset: 0, history: [])
        #expect(state.subscriptionCount == 2)
        let inOps = event(room: "ops", offset: 1)
        #expect(state.receive(event: inOps) == [.send(State.eventMessage(inOps))])
        let elsewhere = event(room: "elsewhere", offset: 1)
        #expect(state.receive(event: elsewhere) == [.send(State.eventMessage(elsewhere))])
        // Without the every-room subscription, only ops.
        #expect(state.receive(text: #"{"action":"unsubscribe"}"#).last
            == .send(["type": "unsubscribed", "namespace": "/", "room": nil]))
        #expect(state.receive(event: event(room: "elsewhere", offset: 2)) == [])
    }

    @Test func aStartingRoomSubscriptionDoesNotHoldBackWhatAnEveryRoomSubscriptionDelivers() throws {
        var state = authenticated()
        _ = state.receive(text: #"{"action":"subscribe"}"#)
        _ = state.subscriptionStarted(id: 1, latestOffset: 0, history: [])
        _ = state.receive(text: #"{"action":"subscribe","room":"ops","since":0}"#)
        let five = event(room: "ops", offset: 5)
        #expect(state.receive(event: five) == [.send(State.eventMessage(five))])
        // Started: the buffered nothing; the replay is what was asked for.
        let started = state.subscriptionStarted(id: 2, latestOffset: 4, history: [event(room: "ops", offset: 4)])
        #expect(started.count == 2)
    }

    // MARK: - Publishing

    /// A rule that records what it was asked and refuses unless `allow`.
    final class RecordingRule: @unchecked Sendable {
        var calls: [(subject: String, type: String, room: String, namespace: String, isMember: Bool)] = []
        var allow = true
        var rule: State.PublishRule {
            { principal, type, room, namespace, isMember in
                self.calls.append((principal.subject, type, room, namespace, isMember))
                return self.allow ? nil : "nope"
            }
        }
    }

    func publishing(_ principal: Principal, rule: RecordingRule, maxPending: Int = 64) -> State {
        var state = State(pathRoom: nil, maxSubscriptions: 64, maxBufferedBytes: 1000, maxPendingPublishes: maxPending,
                          publishRule: rule.rule)
        _ = state.start(queryToken: "t")
        _ = state.authenticated(.success(principal))
        return state
    }

    @Test func publishAsksTheRulesWithMembershipFromTheSubscriptions() throws {
        let rule = RecordingRule()
        var state = publishing(Self.user, rule: rule)
        let text = #"{"action":"publish","namespace":"/chat","room":"lobby","event":"chat_message","data":{"m":"hi"},"ref":"p1"}"#
        #expect(state.receive(text: text) == [.publish(State.Publish(
            type: "chat_message", data: ["m": "hi"], namespace: "/chat", room: "lobby", source: "stream:uma", ref: "p1"))])
        #expect(rule.calls.last?.isMember == false)

        _ = state.receive(text: #"{"action":"subscribe","namespace":"/chat","room":"lobby"}"#)
        _ = state.receive(text: text)
        #expect(rule.calls.last?.isMember == true)
        // Another namespace's room of the same name is not covered.
        _ = state.receive(text: #"{"action":"publish","room":"lobby","event":"chat_message","data":{}}"#)
        #expect(rule.calls.last.map { ($0.namespace, $0.isMember) } ?? ("", true) == ("/", false))
        // An every-room subscription covers the rooms the token may join.
        _ = state.receive(text: #"{"action":"subscribe"}"#)
        _ = state.receive(text: #"{"action":"publish","room":"anything","event":"chat_message","data":{}}"#)
        #expect(rule.calls.last?.isMember == true)
        _ = state.receive(text: #"{"action":"publish","room":"admin","event":"chat_message","data":{}}"#)
        #expect(rule.calls.last?.isMember == false)
        #expect(state.pendingPublishes == 5)
    }

    @Test func publishRefusals() {
        let rule = RecordingRule()
        rule.allow = false
        var state = publishing(Self.user, rule: rule)
        #expect(state.receive(text: #"{"action":"publish","room":"r","event":"e","data":{},"ref":1}"#)
            == [error("publish refused", reason: "nope", namespace: "/", room: "r", ref: 1)])
        #expect(state.receive(text: #"{"action":"publish","namespace":"/monitoring","room":"r","event":"e","data":{}}"#)
            == [error("forbidden", reason: "role required for /monitoring", namespace: "/monitoring", room: "r")])
        #expect(state.receive(text: #"{"action":"publish","namespace":"/x","room":"r","event":"e","data":{}}"#)
            == [error("invalid namespace", namespace: "/x", room: "r")])
        #expect(state.receive(text: #"{"action":"publish","room":"","event":"e","data":{}}"#)
            == [error("invalid room name", reason: "1 to 128 characters", namespace: "/", room: "")])
        #expect(state.receive(text: #"{"action":"publish","room":"r","event":"e","data":[]}"#)
            == [error("invalid field: data must be an object")])
        #expect(rule.calls.count == 1)
        #expect(state.pendingPublishes == 0)
        #expect(state.phase == .authenticated(Self.user))

        var anonymous = State(pathRoom: nil, maxSubscriptions: 64, maxBufferedBytes: 1000, publishRule: rule.rule)
        _ = anonymous.start(queryToken: nil)
        #expect(anonymous.receive(text: #"{"action":"publish","room":"r","event":"e","data":{}}"#) == [error("not authenticated")])
    }

    @Test func publishWithTheDefaultEventRules() {
        var user = authenticated(Self.user)
        #expect(user.receive(text: #"{"action":"publish","room":"r","event":"chat_message","data":{}}"#)
            == [error("publish refused", reason: "join the room first", namespace: "/", room: "r")])
        _ = user.receive(text: #"{"action":"subscribe","room":"r"}"#)
        #expect(user.receive(text: #"{"action":"publish","room":"r","event":"chat_message","data":{}}"#)
            == [.publish(State.Publish(type: "chat_message", data: [:], namespace: "/", room: "r", source: "stream:uma", ref: nil))])
    }

    @Test func publishedAnswersWithIdDeliveredAndRef() throws {
        let rule = RecordingRule()
        var state = publishing(Self.admin, rule: rule)
        _ = state.receive(text: #"{"action":"publish","room":"r","event":"e","data":{}}"#)
        let actions = state.published(ref: "p9", result: .success((id: "ev-1", delivered: 3)))
        guard case .send(let answer) = try #require(actions.first) else { Issue.record("\(actions)"); return }
        #expect(answer.jsonString == #"{"type":"published","id":"ev-1","delivered":3,"ref":"p9"}"#)
        #expect(state.pendingPublishes == 0)
        struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
        #expect(state.published(ref: nil, result: .failure(Boom())) == [error("publish failed", reason: "boom")])
    }

    @Test func pendingPublishesAreBounded() {
        let rule = RecordingRule()
        var state = publishing(Self.admin, rule: rule, maxPending: 1)
        let text = #"{"action":"publish","room":"r","event":"e","data":{}}"#
        #expect(state.receive(text: text).count == 1)
        #expect(state.receive(text: text)
            == [error("too many pending publishes", reason: "at most 1 per connection", namespace: "/", room: "r")])
        _ = state.published(ref: nil, result: .success((id: "x", delivered: 0)))
        guard case .publish = state.receive(text: text).first else { Issue.record("not published"); return }
    }

    @Test func aPublishAnsweredAfterTheCloseSendsNothing() {
        let rule = RecordingRule()
        var state = publishing(Self.admin, rule: rule)
        _ = state.receive(text: #"{"action":"publish","room":"r","event":"e","data":{}}"#)
        _ = state.close(code: .normalClosure, reason: "")
        #expect(state.published(ref: nil, result: .success((id: "x", delivered: 0))) == [])
        #expect(state.pendingPublishes == 0)
    }

    // MARK: - Heartbeat

    @Test func pingThenAnyFrameCancelsThePongTimer() {
        var state = authenticated()
        #expect(state.pingDue() == [.sendPing, .startPongTimer])
        // A second ping while the first is unanswered keeps the first deadline.
        #expect(state.pingDue() == [.sendPing])
        #expect(state.frameReceived() == [.cancelPongTimer])
        #expect(state.frameReceived() == [])
        #expect(state.pongTimedOut() == [])
        #expect(state.pingDue() == [.sendPing, .startPongTimer])
    }

    @Test func noAnswerToAPingClosesWith1001() throws {
        var state = authenticated()
        let id = try subscribeLive(&state)
        _ = state.pingDue()
        #expect(state.pongTimedOut() == [.endSubscription(id: id), .close(code: .goingAway, reason: "ping timeout")])
        #expect(state.phase == .closed)
        #expect(state.pingDue() == [])
    }

    @Test func heartbeatRunsBeforeAuthenticationToo() {
        var state = State(pathRoom: nil, maxSubscriptions: 64, maxBufferedBytes: 1000)
        _ = state.start(queryToken: nil)
        #expect(state.pingDue() == [.sendPing, .startPongTimer])
        #expect(state.connectionClosed() == [.cancelAuthTimer, .cancelPongTimer])
    }

    // MARK: - Exact names

    @Test func grantsAreExactScalars() {
        let kelvin = "\u{212A}"
        let principal = Principal(subject: "k", roles: [.service], rooms: ["K"])
        var state = authenticated(principal)
        #expect(state.receive(text: #"{"action":"subscribe","room":""# + kelvin + #""}"#)
            == [error("forbidden", reason: "room not granted", namespace: "/", room: kelvin)])
        #expect(state.receive(text: #"{"action":"publish","room":""# + kelvin + #"","event":"task_failed","data":{}}"#)
            == [error("publish refused", reason: "room not granted", namespace: "/", room: kelvin)])
        guard case .startSubscription = state.receive(text: #"{"action":"subscribe","room":"K"}"#).last else {
            Issue.record("K not subscribed")
            return
        }
    }

    @Test func roomsOfTheSameNameButOtherScalarsAreSeparateSubscriptions() {
        var state = authenticated()
        _ = state.receive(text: #"{"action":"subscribe","room":"K"}"#)
        #expect(state.receive(text: #"{"action":"subscribe","room":"\#u{212A}"}"#).count == 1)
        #expect(state.subscriptionCount == 2)
    }

    @Test func publishRateLimitedAnswersAndMayClose() throws {
        let rule = RecordingRule()
        var state = publishing(Self.admin, rule: rule)
        let id = try subscribeLive(&state)
        _ = state.receive(text: #"{"action":"publish","room":"r","event":"e","data":{}}"#)
        #expect(state.publishRateLimited(ref: "x", disconnect: false) == [error("rate limited", ref: "x")])
        #expect(state.pendingPublishes == 0)
        _ = state.receive(text: #"{"action":"publish","room":"r","event":"e","data":{}}"#)
        #expect(state.publishRateLimited(ref: nil, disconnect: true)
            == [error("rate limited"), .endSubscription(id: id), .close(code: .policyViolation, reason: "rate limited")])
        #expect(state.phase == .closed)
    }

    @Test func liveEventsHeldBackWhileStartingAreBounded() throws {
        var state = authenticated()
        _ = state.receive(text: #"{"action":"subscribe","room":"ops","since":0}"#)
        for n in 1...State.maxEventsWhileStarting {
            #expect(state.receive(event: event(offset: UInt64(n))).isEmpty)
        }
        #expect(state.receive(event: event(offset: 99_999))
            == [.endSubscription(id: 1), .close(code: .policyViolation, reason: "slow consumer")])
    }
}
