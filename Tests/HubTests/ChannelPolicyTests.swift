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
}
