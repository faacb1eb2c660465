import Hub
import Testing

/// ``StreamMessage/parse(_:)``: every action, defaults, and every way a message can be malformed.
@Suite struct StreamMessageTests {
    typealias Subscription = StreamMessage.Subscription

    // MARK: - Accepted messages

    @Test func auth() throws {
        #expect(try StreamMessage.parse(#"{"action":"auth","token":"abc.def.ghi"}"#) == .auth(token: "abc.def.ghi"))
    }

    @Test func authWithEmptyTokenIsLeftToTheAuthenticator() throws {
        #expect(try StreamMessage.parse(#"{"action":"auth","token":""}"#) == .auth(token: ""))
    }

    @Test func ping() throws {
        #expect(try StreamMessage.parse(#"{"action":"ping"}"#) == .ping)
    }

    @Test func subscribeWithEveryField() throws {
        let text = #"{"action":"subscribe","namespace":"/monitoring","room":"ops","event_types":["alert_created","task_failed"],"since":42}"#
        #expect(try StreamMessage.parse(text) == .subscribe(Subscription(
            namespace: "/monitoring", room: "ops", eventTypes: ["alert_created", "task_failed"], since: 42)))
    }

    @Test func subscribeDefaults() throws {
        let expected = StreamMessage.subscribe(Subscription(namespace: "/", room: "ops", eventTypes: nil, since: nil))
        #expect(try StreamMessage.parse(#"{"action":"subscribe","room":"ops"}"#) == expected)
        #expect(try StreamMessage.parse(#"{"action":"subscribe","room":"ops","namespace":null,"event_types":null,"since":null}"#) == expected)
    }

    @Test func subscribeDropsRepeatedEventTypesKeepingOrder() throws {
        let message = try StreamMessage.parse(#"{"action":"subscribe","room":"r","event_types":["b","a","b","a"]}"#)
        #expect(message == .subscribe(Subscription(room: "r", eventTypes: ["b", "a"])))
    }

    @Test(arguments: [
        (#"0"#, UInt64(0)),
        (#"7"#, 7),
        (#"7.0"#, 7),
        (#"1e3"#, 1000),
        (#"9007199254740991"#, 9_007_199_254_740_991),
    ])
    func subscribeSince(json: String, offset: UInt64) throws {
        let message = try StreamMessage.parse(#"{"action":"subscribe","room":"r","since":"# + json + "}")
        #expect(message == .subscribe(Subscription(room: "r", since: offset)))
    }

    @Test func unsubscribe() throws {
        #expect(try StreamMessage.parse(#"{"action":"unsubscribe","namespace":"/chat","room":"lobby"}"#)
            == .unsubscribe(namespace: "/chat", room: "lobby"))
        #expect(try StreamMessage.parse(#"{"room":"lobby","action":"unsubscribe"}"#) == .unsubscribe(namespace: "/", room: "lobby"))
    }

    @Test func pingAsType() throws {
        #expect(try StreamMessage.parse(#"{"type":"ping"}"#) == .ping)
        #expect(try StreamMessage.parse(#"{"type":"ping","ref":"p1"}"#) == .ping)
        // An action wins over a type.
        #expect(try StreamMessage.parse(#"{"type":"ping","action":"unsubscribe","room":"r"}"#)
            == .unsubscribe(namespace: "/", room: "r"))
    }

    @Test func subscribeWithoutRoomIsEveryReadableRoom() throws {
        #expect(try StreamMessage.parse(#"{"action":"subscribe","namespace":"/monitoring","event_types":["RUN_STARTED"]}"#)
            == .subscribe(Subscription(namespace: "/monitoring", room: nil, eventTypes: ["RUN_STARTED"])))
        #expect(try StreamMessage.parse(#"{"action":"subscribe","room":null}"#) == .subscribe(Subscription(room: nil)))
    }

    @Test func sinceWithoutRoomIsRefused() {
        #expect(throws: StreamMessage.ParseError.invalidField("since", expected: "absent without a room (offsets are per room)")) {
            try StreamMessage.parse(#"{"action":"subscribe","namespace":"/chat","since":3}"#)
        }
        #expect(StreamMessage.ParseError.invalidField("since", expected: "absent without a room (offsets are per room)").message
            == "invalid field: since must be absent without a room (offsets are per room)")
    }

    @Test func unsubscribeWithoutRoom() throws {
        #expect(try StreamMessage.parse(#"{"action":"unsubscribe","namespace":"/chat"}"#) == .unsubscribe(namespace: "/chat", room: nil))
    }

    @Test func publish() throws {
        let text = #"{"action":"publish","namespace":"/chat","room":"lobby","event":"chat_message","data":{"message":"hi","n":[1,2]}}"#
        #expect(try StreamMessage.parse(text) == .publish(StreamMessage.Publication(
            namespace: "/chat", room: "lobby", event: "chat_message", data: ["message": "hi", "n": [1, 2]])))
        #expect(try StreamMessage.parse(#"{"action":"publish","room":"r","event":"x","data":{}}"#)
            == .publish(StreamMessage.Publication(namespace: "/", room: "r", event: "x", data: [:])))
    }

    @Test func eventTypeRepeatsAreExactScalars() throws {
        // KELVIN SIGN (U+212A) is canonically equivalent to K, but a different name.
        let message = try StreamMessage.parse(#"{"action":"subscribe","room":"r","event_types":["K","K","K"]}"#)
        #expect(message == .subscribe(Subscription(room: "r", eventTypes: ["K", "\u{212A}"])))
        if case .subscribe(let subscription) = message {
            #expect(subscription.eventTypes?.map { Array($0.unicodeScalars) } == [["K"], ["\u{212A}"]])
        }
    }

    // MARK: - ref

    @Test func refIsPickedOutOnEveryAction() {
        #expect(StreamMessage.parseRequest(#"{"action":"ping","ref":"a-1"}"#) == StreamMessage.Request(message: .success(.ping), ref: "a-1"))
        #expect(StreamMessage.parseRequest(#"{"action":"auth","token":"t","ref":7}"#)
            == StreamMessage.Request(message: .success(.auth(token: "t")), ref: 7))
        #expect(StreamMessage.parseRequest(#"{"action":"unsubscribe","room":"r","ref":-3}"#)
            == StreamMessage.Request(message: .success(.unsubscribe(namespace: "/", room: "r")), ref: -3))
        #expect(StreamMessage.parseRequest(#"{"action":"ping","ref":null}"#) == StreamMessage.Request(message: .success(.ping), ref: nil))
        // A refused message keeps its ref, so the error can carry it.
        #expect(StreamMessage.parseRequest(#"{"action":"publish","ref":"x"}"#)
            == StreamMessage.Request(message: .failure(.missingField("room")), ref: "x"))
        #expect(StreamMessage.parseRequest("nope") == StreamMessage.Request(message: .failure(.invalidJSON), ref: nil))
    }

    @Test(arguments: [#"1.5"#, "[1]", #"{"a":1}"#, "true", "9007199254740992"])
    func invalidRef(json: String) {
        let expected = StreamMessage.ParseError.invalidField("ref", expected: "a string of at most 128 characters or an integer")
        #expect(StreamMessage.parseRequest(#"{"action":"ping","ref":"# + json + "}") == StreamMessage.Request(message: .failure(expected)))
    }

    @Test func refStringIsBounded() {
        let ok = String(repeating: "é", count: 128)
        #expect(StreamMessage.parseRequest(#"{"action":"ping","ref":""# + ok + #""}"#).ref == .string(ok))
        let long = String(repeating: "r", count: 129)
        #expect(StreamMessage.parseRequest(#"{"action":"ping","ref":""# + long + #""}"#).ref == nil)
    }

    @Test func unknownMembersAreIgnored() throws {
        #expect(try StreamMessage.parse(#"{"action":"ping","id":7,"extra":{"a":[1]}}"#) == .ping)
    }

    @Test func namespaceAndRoomAreNotJudgedByTheParser() throws {
        // Unknown namespaces and unusable room names are refused later, by the channel policy.
        #expect(try StreamMessage.parse(#"{"action":"subscribe","namespace":"nope","room":""}"#)
            == .subscribe(Subscription(namespace: "nope", room: "")))
    }

    // MARK: - Refused messages

    @Test(arguments: [
        "",
        " ",
        "{",
        #"{"action":"ping",}"#,
        #"{"action":'ping'}"#,
        #"{"action":"ping"} x"#,
        "nul",
    ])
    func invalidJSON(text: String) {
        #expect(throws: StreamMessage.ParseError.invalidJSON) { try StreamMessage.parse(text) }
    }

    @Test func tooDeepIsInvalidJSON() {
        let deep = #"{"action":"ping","x":"# + String(repeating: "[", count: 20) + String(repeating: "]", count: 20) + "}"
        #expect(throws: StreamMessage.ParseError.invalidJSON) { try StreamMessage.parse(deep) }
    }

    @Test(arguments: [#"[]"#, #"["ping"]"#, #""ping""#, "1", "null", "true"])
    func notAnObject(text: String) {
        #expect(throws: StreamMessage.ParseError.notAnObject) { try StreamMessage.parse(text) }
    }

    @Test(arguments: [#"{}"#, #"{"action":null}"#, #"{"type":"pong"}"#, #"{"type":"PING"}"#])
    func missingAction(text: String) {
        #expect(throws: StreamMessage.ParseError.missingField("action")) { try StreamMessage.parse(text) }
    }

    @Test(arguments: [#"{"action":1}"#, #"{"action":["ping"]}"#, #"{"action":{"name":"ping"}}"#, #"{"action":true}"#])
    func actionNotAString(text: String) {
        #expect(throws: StreamMessage.ParseError.invalidField("action", expected: "a string")) { try StreamMessage.parse(text) }
    }

    @Test func unknownAction() {
        #expect(throws: StreamMessage.ParseError.unknownAction("dance")) {
            try StreamMessage.parse(#"{"action":"dance","room":"r"}"#)
        }
        // Actions are case-sensitive.
        #expect(throws: StreamMessage.ParseError.unknownAction("PING")) { try StreamMessage.parse(#"{"action":"PING"}"#) }
    }

    @Test func unknownActionIsQuotedShortened() {
        let long = String(repeating: "x", count: 1000)
        #expect(throws: StreamMessage.ParseError.unknownAction(String(repeating: "x", count: 64))) {
            try StreamMessage.parse(#"{"action":""# + long + #""}"#)
        }
    }

    @Test(arguments: [#"{"action":"auth"}"#, #"{"action":"auth","token":null}"#])
    func authWithoutToken(text: String) {
        #expect(throws: StreamMessage.ParseError.missingField("token")) { try StreamMessage.parse(text) }
    }

    @Test(arguments: [#"{"action":"auth","token":1}"#, #"{"action":"auth","token":{"jwt":"x"}}"#])
    func authTokenNotAString(text: String) {
        #expect(throws: StreamMessage.ParseError.invalidField("token", expected: "a string")) { try StreamMessage.parse(text) }
    }

    @Test func publishNeedsRoomEventAndData() {
        #expect(throws: StreamMessage.ParseError.missingField("room")) {
            try StreamMessage.parse(#"{"action":"publish","namespace":"/","event":"e","data":{}}"#)
        }
        #expect(throws: StreamMessage.ParseError.missingField("room")) {
            try StreamMessage.parse(#"{"action":"publish","room":null,"event":"e","data":{}}"#)
        }
        #expect(throws: StreamMessage.ParseError.missingField("event")) {
            try StreamMessage.parse(#"{"action":"publish","room":"r","data":{}}"#)
        }
        #expect(throws: StreamMessage.ParseError.invalidField("event", expected: "a string")) {
            try StreamMessage.parse(#"{"action":"publish","room":"r","event":["e"],"data":{}}"#)
        }
        #expect(throws: StreamMessage.ParseError.missingField("data")) {
            try StreamMessage.parse(#"{"action":"publish","room":"r","event":"e","data":null}"#)
        }
        for data in [#"[]"#, #""x""#, "1", "true", #"[{"a":1}]"#] {
            #expect(throws: StreamMessage.ParseError.invalidField("data", expected: "an object")) {
                try StreamMessage.parse(#"{"action":"publish","room":"r","event":"e","data":"# + data + "}")
            }
        }
    }

    @Test(arguments: ["subscribe", "unsubscribe", "publish"])
    func roomNotAString(action: String) {
        #expect(throws: StreamMessage.ParseError.invalidField("room", expected: "a string")) {
            try StreamMessage.parse(#"{"action":""# + action + #"","room":5,"event":"e","data":{}}"#)
        }
    }

    @Test(arguments: ["subscribe", "unsubscribe", "publish"])
    func namespaceNotAString(action: String) {
        #expect(throws: StreamMessage.ParseError.invalidField("namespace", expected: "a string")) {
            try StreamMessage.parse(#"{"action":""# + action + #"","room":"r","namespace":["/"]}"#)
        }
    }

    @Test(arguments: [#""alert_created""#, "[]", #"[1]"#, #"["a",null]"#, #"{"a":1}"#, "true"])
    func invalidEventTypes(json: String) {
        #expect(throws: StreamMessage.ParseError.invalidField("event_types", expected: "a non-empty array of strings")) {
            try StreamMessage.parse(#"{"action":"subscribe","room":"r","event_types":"# + json + "}")
        }
    }

    @Test(arguments: [#"-1"#, #"1.5"#, #""3""#, #"9007199254740992"#, #"1e300"#, "[1]", "true"])
    func invalidSince(json: String) {
        #expect(throws: StreamMessage.ParseError.invalidField("since", expected: "an integer from 0 to 9007199254740991")) {
            try StreamMessage.parse(#"{"action":"subscribe","room":"r","since":"# + json + "}")
        }
    }

    @Test func fieldsAreCheckedInAFixedOrder() {
        // The namespace before the room, the room before event_types and since.
        #expect(throws: StreamMessage.ParseError.invalidField("namespace", expected: "a string")) {
            try StreamMessage.parse(#"{"action":"subscribe","namespace":1,"event_types":1,"since":-1}"#)
        }
        #expect(throws: StreamMessage.ParseError.invalidField("room", expected: "a string")) {
            try StreamMessage.parse(#"{"action":"subscribe","room":1,"event_types":1,"since":-1}"#)
        }
        #expect(throws: StreamMessage.ParseError.invalidField("event_types", expected: "a non-empty array of strings")) {
            try StreamMessage.parse(#"{"action":"subscribe","event_types":1,"since":-1}"#)
        }
        // since is checked (as an offset) before it is refused for want of a room.
        #expect(throws: StreamMessage.ParseError.invalidField("since", expected: "an integer from 0 to 9007199254740991")) {
            try StreamMessage.parse(#"{"action":"subscribe","since":-1}"#)
        }
    }

    // MARK: - Error messages

    @Test func errorMessages() {
        #expect(StreamMessage.ParseError.invalidJSON.message == "invalid JSON")
        #expect(StreamMessage.ParseError.notAnObject.message == "message must be a JSON object")
        #expect(StreamMessage.ParseError.missingField("room").message == "missing field: room")
        #expect(StreamMessage.ParseError.invalidField("since", expected: "an integer").message == "invalid field: since must be an integer")
        #expect(StreamMessage.ParseError.unknownAction("publish").message == "unknown action: publish")
    }
}
