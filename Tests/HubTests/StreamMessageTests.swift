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

    @Test(arguments: [#"{}"#, #"{"action":null}"#, #"{"type":"ping"}"#])
    func missingAction(text: String) {
        #expect(throws: StreamMessage.ParseError.missingField("action")) { try StreamMessage.parse(text) }
    }

    @Test(arguments: [#"{"action":1}"#, #"{"action":["ping"]}"#, #"{"action":{"name":"ping"}}"#, #"{"action":true}"#])
    func actionNotAString(text: String) {
        #expect(throws: StreamMessage.ParseError.invalidField("action", expected: "a string")) { try StreamMessage.parse(text) }
    }

    @Test func unknownAction() {
        #expect(throws: StreamMessage.ParseError.unknownAction("publish")) {
            try StreamMessage.parse(#"{"action":"publish","room":"r"}"#)
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

    @Test(arguments: ["subscribe", "unsubscribe"])
    func roomRequired(action: String) {
        #expect(throws: StreamMessage.ParseError.missingField("room")) {
            try StreamMessage.parse(#"{"action":""# + action + #"","namespace":"/"}"#)
        }
        #expect(throws: StreamMessage.ParseError.missingField("room")) {
            try StreamMessage.parse(#"{"action":""# + action + #"","room":null}"#)
        }
        #expect(throws: StreamMessage.ParseError.invalidField("room", expected: "a string")) {
            try StreamMessage.parse(#"{"action":""# + action + #"","room":5}"#)
        }
    }

    @Test(arguments: ["subscribe", "unsubscribe"])
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
        #expect(throws: StreamMessage.ParseError.missingField("room")) {
            try StreamMessage.parse(#"{"action":"subscribe","event_types":1,"since":-1}"#)
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
