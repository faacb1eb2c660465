import EngineIO
import NIOHTTP1

/// What a `GET /sse` request asks for, read and checked before the stream starts: the room (from
/// `/sse/ROOM` or `?room=`), the namespace, the event types, the offset to replay after, and the
/// token. Every problem is an ``APIError`` 400, answered as JSON like the API's.
struct SSERequest: Sendable, Hashable {
    /// The most distinct event types one request may name.
    static let maxTypes = 64

    /// The namespace, spelled as ``ChannelPolicy/namespaces`` spells it. Default `/`.
    var namespace: String
    /// The room.
    var room: String
    /// The event types wanted, without repeats, in the order given; `nil` for all.
    var types: [String]?
    /// Replay the room's kept events after this offset (`Last-Event-ID`, else `lastEventId`).
    var lastEventID: UInt64?

    /// Reads `request`, whose path ``SSEEndpoint/target(of:)`` parsed as `target`.
    init(_ request: HTTPServerRequest, target: SSEEndpoint.Target) throws(APIError) {
        let query = request.target.query
        switch target {
        case .room(let room):
            guard Self.values(of: "room", in: query).isEmpty else {
                throw .badRequest("the room is given in the path; leave out the room parameter")
            }
            self.room = room
        case .bare:
            guard let room = query["room"], !room.isEmpty else {
                throw .badRequest("room is required: /sse/ROOM or /sse?room=ROOM")
            }
            self.room = room
        }
        guard ChannelPolicy.isValidRoomName(self.room) else {
            throw .badRequest(BroadcastRequest.roomNameRule)
        }

        let namespace = query["namespace"].flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        // Compared by bytes: a client-controlled name must match exactly, not canonically.
        guard let known = ChannelPolicy.namespaces.first(where: { $0.utf8.elementsEqual(namespace.utf8) }) else {
            throw .badRequest("namespace must be one of \(ChannelPolicy.namespaces.joined(separator: ", "))")
        }
        self.namespace = known

        let typeValues = Self.values(of: "types", in: query)
        if typeValues.isEmpty {
            self.types = nil
        } else {
            var types: [String] = []
            for value in typeValues {
                for name in value.split(separator: ",", omittingEmptySubsequences: false) {
                    guard !name.isEmpty else {
                        throw .badRequest("types must be event type names, comma-separated or repeated, none empty")
                    }
                    if !types.contains(where: { $0.utf8.elementsEqual(name.utf8) }) {
                        types.append(String(name))
                    }
                }
            }
            guard types.count <= Self.maxTypes else {
                throw .badRequest("types may name at most \(Self.maxTypes) event types")
            }
            self.types = types
        }

        // The header wins: an EventSource reconnects to the same URL with the newest id in the header.
        if let header = request.head.headers.first(name: "Last-Event-ID"), !header.isEmpty {
            self.lastEventID = try Self.offset(header, name: "Last-Event-ID")
        } else if let value = query["lastEventId"], !value.isEmpty {
            self.lastEventID = try Self.offset(value, name: "lastEventId")
        } else {
            self.lastEventID = nil
        }
    }

    /// The token: `Authorization: Bearer …` if present, else `?token=`.
    static func token(of request: HTTPServerRequest) -> String? {
        TokenAuthenticator.bearerToken(from: request.head.headers) ?? request.target.query["token"]
    }

    /// Every value of the query parameter `name` (compared by bytes), in order.
    private static func values(of name: String, in query: QueryParameters) -> [String] {
        query.pairs.filter { $0.name.utf8.elementsEqual(name.utf8) }.map(\.value)
    }

    /// An offset: ASCII decimal digits, 0 to 2^63−1 (the history API's range).
    private static func offset(_ text: String, name: String) throws(APIError) -> UInt64 {
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              let value = Int64(text) else {
            throw .badRequest("\(name) must be a non-negative integer offset")
        }
        return UInt64(value)
    }
}
