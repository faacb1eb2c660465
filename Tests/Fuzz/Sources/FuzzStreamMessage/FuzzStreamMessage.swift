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
/// Invariants: an accepted message, written back as JSON, parses to the same message; a refusal's
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
    fuzzCheck(again == message, "round trip: \(message) -> \(written.debugDescription) -> \(String(describing: again))")
    return 0
}

private func json(for message: StreamMessage) -> JSONValue {
    switch message {
    case .auth(let token):
        return ["action": "auth", "token": .string(token)]
    case .ping:
        return ["action": "ping"]
    case .unsubscribe(let namespace, let room):
        return ["action": "unsubscribe", "namespace": .string(namespace), "room": .string(room)]
    case .subscribe(let subscription):
        var members: [(String, JSONValue)] = [("action", "subscribe"), ("namespace", .string(subscription.namespace)),
                                              ("room", .string(subscription.room))]
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
