import SocketIO

/// Turns a socket's ``Socket/userInfo`` into JSON and back, so a session persisted on one node can
/// be restored on another. The default keeps values that are `JSONValue`, `String`, `Int`,
/// `Double` or `Bool` and drops the rest (a hub storing its own types supplies its own codec).
public struct UserInfoCodec: Sendable {
    /// userInfo → JSON.
    public var encode: @Sendable ([String: any Sendable]) -> JSONValue
    /// JSON → userInfo.
    public var decode: @Sendable (JSONValue) -> [String: any Sendable]

    /// A codec from two functions.
    public init(encode: @escaping @Sendable ([String: any Sendable]) -> JSONValue,
                decode: @escaping @Sendable (JSONValue) -> [String: any Sendable]) {
        self.encode = encode
        self.decode = decode
    }

    /// Keeps JSON-like values: `JSONValue`, `String`, `Int`, `Double`, `Bool` (decoded as
    /// `JSONValue` except strings, integers, doubles and booleans, which come back as themselves).
    public static let jsonValues = UserInfoCodec(
        encode: { info in
            var object = JSONObject()
            for key in info.keys.sorted() {
                switch info[key]! {
                case let value as JSONValue: object[key] = .object(["j": value])
                case let value as String: object[key] = .object(["s": .string(value)])
                case let value as Int: object[key] = .object(["i": .number(Double(value))])
                case let value as Double: object[key] = .object(["d": .number(value)])
                case let value as Bool: object[key] = .object(["b": .bool(value)])
                default: continue
                }
            }
            return .object(object)
        },
        decode: { json in
            var info: [String: any Sendable] = [:]
            for (key, wrapped) in json.objectValue ?? JSONObject() {
                if let value = wrapped["j"] { info[key] = value }
                else if let value = wrapped["s"]?.stringValue { info[key] = value }
                else if let value = wrapped["i"]?.intValue { info[key] = value }
                else if let value = wrapped["d"]?.doubleValue { info[key] = value }
                else if let value = wrapped["b"]?.boolValue { info[key] = value }
            }
            return info
        }
    )
}
