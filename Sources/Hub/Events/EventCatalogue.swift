/// The events the hub routes, by category. Docs/events.md lists each with its fields.
public enum EventCatalogue {
    /// A group of related events.
    public enum Category: String, Sendable, CaseIterable {
        case chat, agent, task, system
    }

    /// Chat between people and agents.
    public static let chat: [String] = ["chat_message", "chat_response", "typing_indicator"]
    /// What agents are doing.
    public static let agent: [String] = [
        "agent_started", "agent_completed", "agent_status_change", "tool_call_started", "tool_call_completed",
        "tool_executed", "agent_handoff", "message_delta", "progress_update",
    ]
    /// Long-running work.
    public static let task: [String] = ["task_started", "task_updated", "task_completed", "task_failed"]
    /// The hub and the systems around it.
    public static let system: [String] = ["health_update", "performance_update", "alert_created", "user_joined", "user_left"]

    /// Every catalogue event.
    public static let all: Set<String> = Set(chat + agent + task + system)

    /// Events people (role user and up) may publish from a socket, into rooms they are in.
    public static let userPublishable: Set<String> = ["chat_message", "typing_indicator"]

    /// Events that are not kept in history (ephemeral).
    public static let ephemeral: Set<String> = ["typing_indicator", "message_delta"]

    /// The category of `type`, if it is a catalogue event.
    public static func category(of type: String) -> Category? {
        if chat.contains(type) { return .chat }
        if agent.contains(type) { return .agent }
        if task.contains(type) { return .task }
        if system.contains(type) { return .system }
        return nil
    }
}
