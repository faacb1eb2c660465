"""Benchmark peer: Flask-SocketIO in its default threading mode (Werkzeug, simple-websocket).

The three bench handlers of Docs/benchmarks.md, in namespace "/", open without auth:
  bench:echo (payload) + ack   -> ack(payload)
  bench:join (room) + ack      -> join room, ack(true)
  bench:publish (room, msg)    -> emit bench:msg (msg) to the room, no ack

    .venv/bin/python flask_socketio_server.py --port 3202

async_mode="threading" is what Flask-SocketIO picks when neither eventlet nor gevent is installed
(the bench venv has neither): one thread per connection, WebSocket through simple-websocket.
"""
import argparse
import logging

from flask import Flask
from flask_socketio import SocketIO, join_room

app = Flask(__name__)
socketio = SocketIO(app, async_mode="threading", logger=False, engineio_logger=False)


@socketio.on("bench:echo")
def bench_echo(payload=None):
    return payload


@socketio.on("bench:join")
def bench_join(room):
    join_room(room)
    return True


@socketio.on("bench:publish")
def bench_publish(room, msg):
    socketio.emit("bench:msg", msg, to=room)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3202)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    # The Werkzeug server is what socketio.run uses in threading mode; it refuses to start outside
    # debug mode unless told that this is deliberate.
    socketio.run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True, log_output=False)


if __name__ == "__main__":
    main()
