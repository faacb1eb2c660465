import NIOConcurrencyHelpers
import NIOCore

/// The namespaces of a server: the static ones by name, and the dynamic parents (matched by a
/// predicate) whose children are created on first connect.
final class NamespaceRegistry: Sendable {
    private let group: EventLoopGroup
    private let adapterFactory: SocketIOServer.AdapterFactory
    private let state = NIOLockedValueBox<(namespaces: [String: Namespace], parents: [Namespace])>(([:], []))

    init(group: EventLoopGroup, adapterFactory: @escaping SocketIOServer.AdapterFactory) {
        self.group = group
        self.adapterFactory = adapterFactory
    }

    /// The namespace `name`, created if needed.
    func of(_ name: String) -> Namespace {
        let name = Self.normalize(name)
        return self.state.withLockedValue { state in
            if let existing = state.namespaces[name] { return existing }
            let namespace = Namespace(name: name, adapter: self.adapterFactory(name, self.group))
            state.namespaces[name] = namespace
            return namespace
        }
    }

    /// A dynamic parent namespace for every name `matcher` accepts.
    func parent(matching matcher: @escaping @Sendable (String) -> Bool) -> Namespace {
        self.state.withLockedValue { state in
            let name = "/_\(state.parents.count + 1)"
            let parent = Namespace(name: name, adapter: self.adapterFactory(name, self.group), matcher: matcher)
            state.parents.append(parent)
            return parent
        }
    }

    /// The namespace a client may connect to under `name`: an existing one, or a new child of the
    /// first dynamic parent that matches; `nil` for an unknown namespace.
    func namespace(forConnecting name: String) -> Namespace? {
        self.state.withLockedValue { state in
            if let existing = state.namespaces[name] { return existing }
            guard let parent = state.parents.first(where: { $0.matcher?(name) == true }) else { return nil }
            let child = Namespace(name: name, adapter: self.adapterFactory(name, self.group), parent: parent)
            parent.addChild(child)
            state.namespaces[name] = child
            return child
        }
    }

    /// Every namespace clients can reach now.
    var all: [Namespace] {
        self.state.withLockedValue { Array($0.namespaces.values) }
    }

    static func normalize(_ name: String) -> String {
        name.hasPrefix("/") ? name : "/" + name
    }
}
