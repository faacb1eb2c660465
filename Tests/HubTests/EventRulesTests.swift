import Testing

@testable import Hub

@Suite("Event rules")
struct EventRulesTests {
    let user = Principal(subject: "u", roles: [.user])
    let monitor = Principal(subject: "m", roles: [.monitor])
    let admin = Principal(subject: "a", roles: [.admin])
    let service = Principal(subject: "s", roles: [.service], rooms: ["ops"])
    let rules = EventRules()

    private func kind(_ principal: Principal, _ type: String, room: String = "ops", isMember: Bool = true) -> EventRules.Refusal.Kind? {
        self.rules.refusalToPublish(principal, type: type, room: room, namespace: "/", isMember: isMember)?.kind
    }

    @Test func servicesAndAdminsPublishAnyValidName() {
        for name in ["RUN_STARTED", "TEXT_MESSAGE_CONTENT", "TOOL_CALL_START", "EXECUTION_STARTED", "GOAL_PROGRESS",
                     "task_paused", "state.patch", "message.delta", "alert_created", "ünïcødé 事件", String(repeating: "x", count: 128)] {
            #expect(self.kind(self.service, name) == nil, "\(name)")
            #expect(self.kind(self.admin, name, room: "anywhere", isMember: false) == nil, "\(name)")
        }
    }

    @Test func grantsStillApplyToServices() {
        #expect(self.kind(self.service, "RUN_STARTED", room: "hr") == .roomNotGranted)
    }

    @Test func invalidNamesAreRefused() {
        #expect(self.kind(self.admin, "") == .invalidName)
        #expect(self.kind(self.admin, String(repeating: "x", count: 129)) == .invalidName)
        #expect(self.kind(self.admin, "bad\nname") == .invalidName)
        #expect(self.kind(self.admin, "bad\u{7F}") == .invalidName)
        #expect(self.kind(self.admin, "bad\u{85}") == .invalidName, "C1 control")
        #expect(EventRules.invalidNameReason(String(repeating: "é", count: 128)) == nil, "128 scalars, 256 bytes")
    }

    @Test func reservedAndPresenceNamesAreRefusedForEveryone() {
        for name in ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
                     "user_joined", "user_left"] {
            #expect(self.kind(self.admin, name) == .reservedName, "\(name)")
            #expect(self.kind(self.service, name) == .reservedName, "\(name)")
            #expect(self.kind(self.user, name) == .reservedName, "\(name)")
        }
    }

    @Test func usersPublishTheirEventsIntoRoomsTheyAreIn() {
        #expect(self.kind(self.user, "chat_message") == nil)
        #expect(self.kind(self.user, "typing_indicator") == nil)
        #expect(self.kind(self.user, "chat_message", isMember: false) == .notInRoom)
        #expect(self.kind(self.user, "alert_created") == .roleRequired)
        #expect(self.kind(self.monitor, "RUN_STARTED") == .roleRequired)
    }

    @Test func userEventsAreConfigurable() {
        var rules = EventRules()
        rules.userEvents = ["agent_request", "cancel_request"]
        #expect(rules.refusalToPublish(self.user, type: "agent_request", room: "r", namespace: "/", isMember: true) == nil)
        #expect(rules.refusalToPublish(self.user, type: "chat_message", room: "r", namespace: "/", isMember: true)?.kind == .roleRequired)
    }

    @Test func namesCompareAsExactScalars() {
        var rules = EventRules()
        rules.userEvents = ["Kick"]
        // KELVIN SIGN + "ick" is canonically equivalent to "Kick" (String == says equal), but not the same name.
        #expect("\u{212A}ick" == "Kick")
        #expect(rules.refusalToPublish(self.user, type: "\u{212A}ick", room: "r", namespace: "/", isMember: true)?.kind == .roleRequired)
        #expect(rules.refusalToPublish(self.user, type: "Kick", room: "r", namespace: "/", isMember: true) == nil)
        // NFC "é" and NFD "e\u{301}".
        rules.ephemeralEvents = ["caf\u{E9}"]
        #expect(rules.isEphemeral("caf\u{E9}"))
        #expect(!rules.isEphemeral("cafe\u{301}"))
        // Reserved names are exact too: a full-width or Kelvin spelling is a different (valid) name.
        #expect(EventRules.unpublishableReason("ｃonnect") == nil)
    }

    @Test func ephemeralDefaults() {
        #expect(self.rules.isEphemeral("typing_indicator"))
        #expect(self.rules.isEphemeral("message_delta"))
        #expect(!self.rules.isEphemeral("chat_message"))
    }
}
