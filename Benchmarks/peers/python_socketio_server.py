"""Benchmark peer: python-socketio AsyncServer under uvicorn (ASGI).

The three bench handlers of Docs/benchmarks.md, in namespace "/", open without auth:
  bench:echo (payload) + ack   -> ack(payload)
  bench:join (room) + ack      -> join room, ack(true)
  bench:publish (room, msg)    -> emit bench:msg (msg) to the room, no ack

    .venv/bin/python python_socketio_server.py --port 3201
"""
import argparse

import socketio
import uvicorn

sio = socketio.AsyncServer(async_mode="asgi", logger=False, engineio_logger=False)
app = socketio.ASGIApp(sio)


@sio.on("bench:echo")
async def bench_echo(sid, payload=None):
    return payload


@sio.on("bench:join")
async def bench_join(sid, room):
    await sio.enter_room(sid, room)
    return True


@sio.on("bench:publish")
async def bench_publish(sid, room, msg):
    await sio.emit("bench:msg", msg, room=room)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3201)
    args = parser.parse_args()
    # uvloop and httptools when installed (uvicorn[standard], as deployed); websockets for WebSocket.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", backlog=4096,
                access_log=False)


if __name__ == "__main__":
    main()
