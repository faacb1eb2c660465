import SocketIO

/// The benchmark behaviour of `hub serve --bench`, in namespace `/` (where bench mode admits
/// connections without a token). Every peer in Benchmarks/peers implements the same three handlers.
enum BenchHandlers {
    static func install(on io: SocketIOServer) {
        let main = io.of("/")
        // `bench:echo` (payload) with ack → ack(payload)
        main.on("bench:echo") { _, args, ack in
            ack?.send(arguments: args)
        }
        // `bench:join` (room) with ack → join, ack(true)
        main.on("bench:join") { socket, args, ack in
            guard let room = args.first?.stringValue else { return }
            socket.join(room)
            ack?(true)
        }
        // `bench:publish` (room, msg) → emit `bench:msg` (msg) to the room, no ack
        main.on("bench:publish") { _, args, _ in
            guard args.count >= 2, let room = args[0].stringValue else { return }
            main.to(room).emit("bench:msg", arguments: [args[1]])
        }
    }
}
