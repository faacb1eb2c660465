import EngineIO
@testable import Hub
import NIOHTTP1
import Testing

/// ``SSERequest``: what a `GET /sse` asks for, read from the path, query and headers (pure).
@Suite struct SSERequestTests {
    static func parse(_ uri: String, headers: HTTPHeaders = [:]) throws(APIError) -> SSERequest {
        let request = HTTPServerRequest(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: headers),
                                        body: nil, remoteAddress: nil)
        guard let target = SSEEndpoint.target(of: request.target.path) else { throw .badRequest("invalid room in path") }
        return try SSERequest(request, target: target)
    }

    static func message(_ uri: String, headers: HTTPHeaders = [:]) -> String? {
        do {
            _ = try Self.parse(uri, headers: headers)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func defaults() throws {
        let request = try Self.parse("/sse/ops")
        #expect(request.namespace == "/" && request.room == "ops" && request.types == nil && request.lastEventID == nil)
        #expect(try Self.parse("/sse?room=ops&namespace=") == request, "an empty namespace is /")
    }

    @Test func typesAreSplitDeduplicatedAndKeptInOrder() throws {
        let request = try Self.parse("/sse/ops?types=b,a&types=c&types=a,b")
        #expect(request.types == ["b", "a", "c"])
        // Exact bytes: a composed and a decomposed "é" are two names.
        let accents = try Self.parse("/sse/ops?types=caf%C3%A9,cafe%CC%81")
        #expect(accents.types?.count == 2)
        let many = (1...65).map { "t\($0)" }.joined(separator: ",")
        #expect(Self.message("/sse/ops?types=\(many)") == "types may name at most 64 event types")
        #expect(Self.message("/sse/ops?types=a,") == "types must be event type names, comma-separated or repeated, none empty")
    }

    @Test func theHeaderOffsetWinsOverTheQuery() throws {
        #expect(try Self.parse("/sse/ops?lastEventId=5").lastEventID == 5)
        #expect(try Self.parse("/sse/ops?lastEventId=5", headers: ["Last-Event-ID": "7"]).lastEventID == 7)
        #expect(try Self.parse("/sse/ops?lastEventId=5", headers: ["Last-Event-ID": ""]).lastEventID == 5, "empty: no id")
        #expect(try Self.parse("/sse/ops?lastEventId=9223372036854775807").lastEventID == UInt64(Int64.max))
        for bad in ["-1", "+1", "1.0", "9223372036854775808", "0x10", " 1"] {
            #expect(Self.message("/sse/ops", headers: ["Last-Event-ID": bad]) == "Last-Event-ID must be a non-negative integer offset", "\(bad)")
        }
        #expect(Self.message("/sse/ops?lastEventId=abc") == "lastEventId must be a non-negative integer offset")
    }

    @Test func namespacesMatchByBytes() throws {
        #expect(try Self.parse("/sse/ops?namespace=/monitoring").namespace == "/monitoring")
        // U+212A KELVIN SIGN is canonically equivalent to "K": not a namespace here.
        #expect(Self.message("/sse/ops?namespace=/%E2%84%AA") == "namespace must be one of /, /chat, /monitoring, /admin")
        #expect(Self.message("/sse/ops?namespace=chat") == "namespace must be one of /, /chat, /monitoring, /admin")
    }

    @Test func theRoomComesFromThePathOrTheQuery() throws {
        #expect(try Self.parse("/sse/team%20a").room == "team a")
        #expect(try Self.parse("/sse?room=team+a").room == "team a")
        #expect(Self.message("/sse") == "room is required: /sse/ROOM or /sse?room=ROOM")
        #expect(Self.message("/sse?room=") == "room is required: /sse/ROOM or /sse?room=ROOM")
        #expect(Self.message("/sse/a?room=a") == "the room is given in the path; leave out the room parameter")
        #expect(Self.message("/sse/\(String(repeating: "é", count: 129))") == BroadcastRequest.roomNameRule)
        #expect(try Self.parse("/sse/\(String(repeating: "é", count: 128))").room.unicodeScalars.count == 128)
    }

    @Test func theTokenHeaderWinsOverTheQuery() {
        func token(_ uri: String, _ headers: HTTPHeaders = [:]) -> String? {
            SSERequest.token(of: HTTPServerRequest(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: headers),
                                                   body: nil, remoteAddress: nil))
        }
        #expect(token("/sse/a?token=q") == "q")
        #expect(token("/sse/a?token=q", ["Authorization": "Bearer h"]) == "h")
        #expect(token("/sse/a?token=q", ["Authorization": "Basic xyz"]) == "q")
        #expect(token("/sse/a") == nil)
    }
}
