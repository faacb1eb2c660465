import Testing

@testable import Hub

@Suite("Channel policy")
struct ChannelPolicyTests {
    let user = Principal(subject: "u", roles: [.user])
    let monitor = Principal(subject: "m", roles: [.monitor])
    let admin = Principal(subject: "a", roles: [.admin])
    let service = Principal(subject: "s", roles: [.service], rooms: ["ops"])
    let nobody = Principal(subject: "n", roles: [])

    @Test func namespacesAdmitTheirRoles() {
        #expect(ChannelPolicy.mayConnect(self.user, to: "/chat"))
        #expect(!ChannelPolicy.mayConnect(self.user, to: "/monitoring"))
        #expect(!ChannelPolicy.mayConnect(self.user, to: "/admin"))
        #expect(ChannelPolicy.mayConnect(self.monitor, to: "/monitoring"))
        #expect(!ChannelPolicy.mayConnect(self.monitor, to: "/admin"))
        #expect(ChannelPolicy.mayConnect(self.admin, to: "/admin"))
        #expect(ChannelPolicy.mayConnect(self.service, to: "/monitoring"))
        #expect(!ChannelPolicy.mayConnect(self.service, to: "/admin"))
        #expect(!ChannelPolicy.mayConnect(self.nobody, to: "/"))
        #expect(!ChannelPolicy.mayConnect(self.admin, to: "/unknown"))
    }

    @Test func gatedRoomsOfTheMainNamespace() {
        #expect(ChannelPolicy.refusalToJoin(self.user, room: "chat", in: "/") == nil)
        #expect(ChannelPolicy.refusalToJoin(self.user, room: "monitoring", in: "/") != nil)
        #expect(ChannelPolicy.refusalToJoin(self.user, room: "admin", in: "/") != nil)
        #expect(ChannelPolicy.refusalToJoin(self.monitor, room: "monitoring", in: "/") == nil)
        #expect(ChannelPolicy.refusalToJoin(self.admin, room: "admin", in: "/") == nil)
        #expect(ChannelPolicy.refusalToJoin(self.user, room: "admin", in: "/chat") == nil, "only / gates by name")
    }

    @Test func roomGrantsAndNames() {
        #expect(ChannelPolicy.refusalToJoin(self.service, room: "ops", in: "/monitoring") == nil)
        #expect(ChannelPolicy.refusalToJoin(self.service, room: "finance", in: "/monitoring") == "room not granted")
        #expect(ChannelPolicy.refusalToJoin(self.user, room: "", in: "/chat") == "invalid room name")
        #expect(ChannelPolicy.refusalToJoin(self.user, room: String(repeating: "x", count: 129), in: "/chat") == "invalid room name")
        let star = Principal(subject: "x", roles: [.user], rooms: ["*"])
        #expect(ChannelPolicy.refusalToJoin(star, room: "anything", in: "/chat") == nil)
    }

    @Test func roomNamesCountCodePointsLikeTheOpenAPISchema() {
        #expect(ChannelPolicy.isValidRoomName(String(repeating: "é", count: 128)), "256 UTF-8 bytes, 128 code points")
        #expect(!ChannelPolicy.isValidRoomName(String(repeating: "é", count: 129)))
        #expect(!ChannelPolicy.isValidRoomName(""))
        #expect(ChannelPolicy.refusalToJoin(self.user, room: String(repeating: "é", count: 128), in: "/chat") == nil)
    }

    // MARK: - Exact grants

    /// Pairs a client can tell apart but Swift's `String ==` (canonical equivalence) may not:
    /// KELVIN SIGN against K, precomposed é against e + COMBINING ACUTE ACCENT, and a full-width
    /// letter against its ASCII form (compatibility-equivalent only).
    static let lookalikes: [(String, String)] = [
        ("\u{212A}elvin", "Kelvin"),
        ("caf\u{E9}", "cafe\u{301}"),
        ("\u{FF4C}obby", "lobby"),
    ]

    @Test(arguments: Self.lookalikes)
    func grantsAreExactBothWays(granted: String, lookalike: String) {
        for (grant, asked) in [(granted, lookalike), (lookalike, granted)] {
            let holder = Principal(subject: "g", roles: [.user, .service], rooms: [ExactName(grant)])
            #expect(holder.mayJoin(room: grant))
            #expect(!holder.mayJoin(room: asked))
            #expect(ChannelPolicy.refusalToJoin(holder, room: grant, in: "/chat") == nil)
            #expect(ChannelPolicy.refusalToJoin(holder, room: asked, in: "/chat") == "room not granted")
            #expect(ChannelPolicy.refusalToJoin(holder, room: asked, in: "/") == "room not granted")
        }
    }

    @Test func kelvinSignIsNotTheAdminGateButIsNotGrantedEither() {
        // "\u{212A}" is canonically "K"; a room spelled with it is a different, ungated room, and a
        // grant must name it exactly.
        let holder = Principal(subject: "g", roles: [.user], rooms: ["Kelvin"])
        #expect(ChannelPolicy.gatedRoles(forExactRoom: "admin") != nil)
        #expect(ChannelPolicy.gatedRoles(forExactRoom: "\u{212A}elvin") == nil)
        #expect(ChannelPolicy.refusalToJoin(holder, room: "\u{212A}elvin", in: "/") == "room not granted")
    }

    @Test func staticTokenGrantsAreExact() {
        let token = StaticToken(token: "static-token-0123456789", user: "s", roles: [.user], rooms: ["\u{212A}elvin", "Kelvin"])
        let principal = token.principal
        #expect(principal.rooms?.count == 2, "both spellings are kept as distinct grants")
        #expect(principal.mayJoin(room: "Kelvin") && principal.mayJoin(room: "\u{212A}elvin"))
        let one = StaticToken(token: "static-token-0123456789", user: "s", roles: [.user], rooms: ["\u{212A}elvin"]).principal
        #expect(!one.mayJoin(room: "Kelvin"))
    }
}
