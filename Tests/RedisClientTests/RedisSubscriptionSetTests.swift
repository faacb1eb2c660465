import NIOCore
import RedisClient
import Testing

@Suite("Redis subscription set")
struct RedisSubscriptionSetTests {
    @Test func tracksConfirmationsAndResubscribesAfterLoss() {
        var set = RedisSubscriptionSet()
        do {
            let result = set.add(["a", "b"], kind: .channel)
            #expect(result == ["a", "b"])
        }
        do {
            let result = set.add(["b", "c"], kind: .channel)
            #expect(result == ["c"])
        }
        do {
            let result = set.add(["news.*"], kind: .pattern)
            #expect(result == ["news.*"])
        }
        do {
            let result = set.confirm("a", kind: .channel)
            #expect(result)
        }
        #expect(set.isConfirmed("a", kind: .channel))
        #expect(!set.isConfirmed("news.*", kind: .pattern))
        do {
            let result = set.confirm("a", kind: .pattern)
            #expect(!result, "kinds are separate")
        }
        let again = set.connectionLost()
        #expect(again.channels == ["a", "b", "c"])
        #expect(again.patterns == ["news.*"])
        #expect(!set.isConfirmed("a", kind: .channel))
        do {
            let result = set.remove(["a", "zzz"], kind: .channel)
            #expect(result == ["a"])
        }
        do {
            let result = set.confirm("a", kind: .channel)
            #expect(!result, "a late confirmation of a dropped channel is ignored")
        }
        #expect(set.all.channels == ["b", "c"])
    }

    @Test func parsesPushes() {
        #expect(RedisPubSubPush(.array([.bulk("subscribe"), .bulk("a"), .integer(1)])) == .subscribed(.channel, "a"))
        #expect(RedisPubSubPush(.array([.bulk("psubscribe"), .bulk("n.*"), .integer(2)])) == .subscribed(.pattern, "n.*"))
        #expect(RedisPubSubPush(.array([.bulk("unsubscribe"), .bulkString(nil), .integer(0)])) == .unsubscribed(.channel, ""))
        #expect(RedisPubSubPush(.array([.bulk("pmessage"), .bulk("n.*"), .bulk("n.1"), .bulk("x")]))
            == .message(RedisPubSubMessage(channel: "n.1", pattern: "n.*", payload: ByteBuffer(string: "x"))))
        #expect(RedisPubSubPush(.simpleString("OK")) == nil)
        #expect(RedisPubSubPush(.array([.bulk("message"), .bulk("a")])) == nil)
    }
}
