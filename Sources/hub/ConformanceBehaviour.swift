import NIOCore
import SocketIO

/// The Socket.IO side of `hub conformance`: namespaces `/` and `/custom` that greet each socket
/// with an "auth" event carrying its CONNECT payload, echo "message" as "message-back", and answer
/// "message-with-ack" with its own arguments. `/` also serves the interop tests' room, ack and
/// disconnect events.
enum ConformanceBehaviour {
    static func install(on io: SocketIOServer) {
        for name in ["/", "/custom"] {
            io.of(name).onConnection { socket in
                socket.emit("auth", socket.handshake.auth)
                socket.on("message") { args, _ in
                    socket.emit("message-back", arguments: args)
                }
                socket.on("message-with-ack") { args, ack in
                    ack?.send(arguments: args)
                }
            }
        }
        let main = io.of("/")
        main.onConnection { socket in
            socket.on("join") { args, ack in
                guard let room = args.first?.stringValue else { return }
                socket.join(room)
                ack?(true)
            }
            socket.on("leave") { args, ack in
                guard let room = args.first?.stringValue else { return }
                socket.leave(room)
                ack?(true)
            }
            socket.on("to-room") { args, ack in
                guard let room = args.first?.stringValue else { return }
                main.to(room).emit("room-message", arguments: Array(args.dropFirst()))
                ack?(true)
            }
            // "ack-result" carries the acknowledged values as one list, or {"error":"timeout"}.
            socket.on("request-ack") { args, _ in
                guard let event = args.first?.stringValue else { return }
                socket.emitWithAck(event, arguments: Array(args.dropFirst()), timeout: .seconds(5)) { result in
                    switch result {
                    case .success(let values): socket.emit("ack-result", .array(values))
                    case .failure: socket.emit("ack-result", ["error": "timeout"])
                    }
                }
            }
            socket.on("server-disconnect") { _, _ in
                socket.disconnect()
            }
        }
    }
}
