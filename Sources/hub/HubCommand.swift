import ArgumentParser

/// The `hub` command line: `hub serve` (the default) and `hub conformance`.
@main
struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "RealtimeHub: a Socket.IO (Engine.IO v4 / Socket.IO v5) server.",
        subcommands: [ServeCommand.self, ConformanceCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
