#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FuzzSupport
import Hub
import SocketIO

/// The `/stream` client message parser (`StreamMessage.parse`).
///
/// Invariants: an accepted message, written back as JSON, parses to the same message (and
/// `parseRequest` to the same one, with a `ref` that is a string or an integer); a refusal's
/// client-facing text is non-empty and quotes at most 64 characters of an unknown action.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStreamMessage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
    let message: StreamMessage
    do {
        message = try StreamMessage.parse(text)
    } catch {
        fuzzCheck(!error.message.isEmpty, "empty error message")
        if case .unknownAction(let action) = error {
            fuzzCheck(action.count <= 64, "unknown action quoted with \(action.count) characters")
        }
        return 0
    }
    let written = json(for: message).jsonString
    let again = try? StreamMessage.parse(written)
    // A publish's data may hold a number JSON cannot write back (1e400 parses as infinity and is
    // written as null): then writing the reparsed message must give the same text.
    fuzzCheck(again == message || again.map { json(for: $0).jsonString } == written, "round trip: \(message) -> \(written.debugDescription) -> \(String(describing: again))")
    // parseRequest agrees with parse, and a `ref` it keeps is a string or an integral number.
    let request = StreamMessage.parseRequest(text)
    if case .success(let same) = request.message {
        fuzzCheck(same == message, "parseRequest: \(same) != \(message)")
    }
    if let ref = request.ref {
        fuzzCheck(ref.stringValue != nil || ref.doubleValue.map { $0.rounded() == $0 } == true, "ref kept: \(ref)")
    }
    return 0
}

private func json(for message: StreamMessage) -> JSONValue {
    switch message {
    case .auth(let token):
        return ["action": "auth", "token": .string(token)]
    case .ping:
        return ["action": "ping"]
    case .unsubscribe(let namespace, let room):
        return ["action": "unsubscribe", "namespace": .string(namespace), "room": room.map(JSONValue.string) ?? .null]
    case .publish(let publication):
        return ["action": "publish", "namespace": .string(publication.namespace), "room": .string(publication.room),
                "event": .string(publication.event), "data": .object(publication.data)]
    case .subscribe(let subscription):
        var members: [(String, JSONValue)] = [("action", "subscribe"), ("namespace", .string(subscription.namespace)),
                                              ("room", subscription.room.map(JSONValue.string) ?? .null)]
        if let types = subscription.eventTypes {
            members.append(("event_types", .array(types.map { .string($0) })))
        }
        if let since = subscription.since {
            members.append(("since", .number(Double(since))))
        }
        return .object(JSONObject(members))
    }
}

@main
enum FuzzStreamMessageMain {
    static func main() {
        exit(runFuzzer(fuzzStreamMessage))
    }
}
