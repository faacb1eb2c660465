import Logging
import NIOCore
import NIOPosix

/// Opens one channel to Redis with the RESP pipeline, then runs the handshake (`AUTH`, `SELECT`).
enum RedisChannelConnector {
    static func connect(configuration: RedisConnectionConfiguration, eventLoop: EventLoop, selectDatabase: Bool,
                        onPush: @escaping @Sendable (RESPValue) -> Void, onClose: @escaping @Sendable (any Error) -> Void) -> EventLoopFuture<Channel> {
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RESPDecoder(configuration: configuration.decoder)),
                        MessageToByteHandler(RESPEncoder()),
                        RedisCommandHandler(onPush: onPush, onClose: onClose),
                    ])
                }
            }
        let url = configuration.url
        let timeout = eventLoop.scheduleTask(in: configuration.connectTimeout) {}
        return bootstrap.connect(host: url.host, port: url.port).flatMap { channel in
            var handshake: [RESPValue] = []
            if let password = url.password {
                handshake.append(RESPEncoder.command("AUTH", url.username.map { [.bulk($0), .bulk(password)] } ?? [.bulk(password)]))
            }
            if selectDatabase, url.database != 0 {
                handshake.append(RESPEncoder.command("SELECT", [.bulk(String(url.database))]))
            }
            let replies = handshake.map { command in
                let promise = channel.eventLoop.makePromise(of: RESPValue.self)
                channel.write(RedisCommandHandler.Request(command: command, promise: promise), promise: nil)
                return promise.futureResult
            }
            channel.flush()
            let deadline = channel.eventLoop.scheduleTask(in: configuration.connectTimeout) {
                channel.close(promise: nil)
            }
            return EventLoopFuture.andAllSucceed(replies, on: channel.eventLoop)
                .always { _ in deadline.cancel() }
                .map { channel }
                .flatMapError { error in
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(error)
                }
        }.always { _ in timeout.cancel() }
    }
}
