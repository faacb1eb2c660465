import Testing

@testable import EngineIO

@Suite("Query parameters and request targets")
struct QueryParametersTests {
    @Test func parsesNamesAndValuesInOrder() {
        let query = QueryParameters(query: "EIO=4&transport=polling&t=Nx1")
        #expect(query.pairs.map(\.name) == ["EIO", "transport", "t"])
        #expect(query.pairs.map(\.value) == ["4", "polling", "Nx1"])
        #expect(query["EIO"] == "4")
        #expect(query["transport"] == "polling")
        #expect(query["sid"] == nil)
    }

    @Test func namesAreCaseSensitive() {
        let query = QueryParameters(query: "eio=4")
        #expect(query["EIO"] == nil)
        #expect(query["eio"] == "4")
    }

    @Test func percentEncodingIsDecodedInNamesAndValues() {
        let query = QueryParameters(query: "na%6De=caf%C3%A9&sid=ab%2Fc%3D%3D&plus=%2B")
        #expect(query["name"] == "café")
        #expect(query["sid"] == "ab/c==")
        #expect(query["plus"] == "+", "an encoded plus stays a plus")
    }

    @Test func plusIsASpace() {
        let query = QueryParameters(query: "q=hello+world&r=a+b%20c")
        #expect(query["q"] == "hello world")
        #expect(query["r"] == "a b c")
    }

    @Test func malformedPercentEncodingIsKeptAsWritten() {
        let query = QueryParameters(query: "a=100%&b=%zz&c=%E2%82")
        #expect(query["a"] == "100%")
        #expect(query["b"] == "%zz")
        #expect(query["c"] == "%E2%82", "an incomplete UTF-8 sequence is not decoded")
    }

    @Test func theFirstOfRepeatedNamesWins() {
        let query = QueryParameters(query: "sid=first&sid=second")
        #expect(query["sid"] == "first")
        #expect(query.pairs.count == 2, "every occurrence is kept in pairs")
        #expect(query.pairs.last?.value == "second")
    }

    @Test func valuelessAndEmptyItems() {
        let query = QueryParameters(query: "&flag&empty=&&=orphan&eq=a=b&")
        #expect(query.pairs.map(\.name) == ["flag", "empty", "", "eq"])
        #expect(query["flag"] == "")
        #expect(query["empty"] == "")
        #expect(query[""] == "orphan")
        #expect(query["eq"] == "a=b", "only the first '=' separates name and value")
    }

    @Test func anEmptyQueryHasNoPairs() {
        #expect(QueryParameters(query: "").pairs.isEmpty)
        #expect(QueryParameters(query: "") == QueryParameters(query: "&&"))
    }

    @Test func equalityAndHashingFollowThePairs() {
        let a = QueryParameters(query: "x=1&y=2")
        #expect(a == QueryParameters(query: "x=%31&y=2"))
        #expect(a != QueryParameters(query: "y=2&x=1"), "order matters")
        #expect(Set([a, QueryParameters(query: "x=1&y=2")]).count == 1)
    }

    @Test func requestTargetSplitsPathAndQuery() {
        let target = RequestTarget(uri: "/socket.io/?EIO=4&transport=websocket&sid=abc")
        #expect(target.path == "/socket.io/")
        #expect(target.query["EIO"] == "4")
        #expect(target.query["transport"] == "websocket")
        #expect(target.query["sid"] == "abc")
    }

    @Test func requestTargetWithoutAQuery() {
        let bare = RequestTarget(uri: "/socket.io/")
        #expect(bare.path == "/socket.io/")
        #expect(bare.query.pairs.isEmpty)

        let trailingMark = RequestTarget(uri: "/socket.io/?")
        #expect(trailingMark.path == "/socket.io/")
        #expect(trailingMark.query.pairs.isEmpty)
    }

    @Test func onlyTheFirstQuestionMarkStartsTheQuery() {
        let target = RequestTarget(uri: "/p?a=1?b=2")
        #expect(target.path == "/p")
        #expect(target.query["a"] == "1?b=2")
    }
}
