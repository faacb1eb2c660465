import Foundation

/// The decoded query string of a request URI, in order; the first value of a repeated name wins.
public struct QueryParameters: Sendable, Hashable {
    /// The name/value pairs in the order they appear.
    public private(set) var pairs: [(name: String, value: String)]

    /// Parses the part of `uri` after `?` (the whole of `uri` if there is no `?`).
    public init(query: Substring) {
        self.pairs = []
        for item in query.split(separator: "&", omittingEmptySubsequences: true) {
            if let eq = item.firstIndex(of: "=") {
                self.pairs.append((Self.decode(item[..<eq]), Self.decode(item[item.index(after: eq)...])))
            } else {
                self.pairs.append((Self.decode(item), ""))
            }
        }
    }

    /// The first value of `name`, or `nil`.
    public subscript(name: String) -> String? {
        self.pairs.first(where: { $0.name == name })?.value
    }

    /// Every value of `name`, in order (`?type=a&type=b`).
    public func values(_ name: String) -> [String] {
        self.pairs.filter { $0.name == name }.map(\.value)
    }

    private static func decode(_ part: Substring) -> String {
        guard part.contains(where: { $0 == "%" || $0 == "+" }) else { return String(part) }
        let spaced = part.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    public static func == (lhs: QueryParameters, rhs: QueryParameters) -> Bool {
        lhs.pairs.elementsEqual(rhs.pairs, by: { $0.name == $1.name && $0.value == $1.value })
    }

    public func hash(into hasher: inout Hasher) {
        for pair in self.pairs { hasher.combine(pair.name); hasher.combine(pair.value) }
    }
}

/// A request target split into its path and query.
public struct RequestTarget: Sendable, Hashable {
    /// The path, without the query.
    public var path: String
    /// The query parameters.
    public var query: QueryParameters

    /// Splits a request URI such as `/socket.io/?EIO=4&transport=polling`.
    public init(uri: String) {
        if let mark = uri.firstIndex(of: "?") {
            self.path = String(uri[..<mark])
            self.query = QueryParameters(query: uri[uri.index(after: mark)...])
        } else {
            self.path = uri
            self.query = QueryParameters(query: "")
        }
    }
}
