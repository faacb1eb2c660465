/// A configuration value that cannot be used: a bad file, a bad environment variable, or a value
/// out of range.
///
/// The message never contains a secret (JWT secret or token), only where the problem is.
public struct HubConfigurationError: Error, CustomStringConvertible, Sendable, Hashable {
    /// Where the problem is: a file key path such as `port`, `cors.origin` or `tokens[0].roles`,
    /// an environment variable such as `HUB_PORT`, or the configuration file's path when the file
    /// itself cannot be read or parsed.
    public var key: String
    /// What is wrong, such as `must be between 0 and 65535`.
    public var problem: String

    /// Creates an error about `key`.
    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }

    /// `"<key>: <problem>"`.
    public var description: String {
        "\(self.key): \(self.problem)"
    }
}
