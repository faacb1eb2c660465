#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora, Fixtures/fuzz/<target>/, from the wire-vector fixtures
(Fixtures/engineio/packets.json, Fixtures/socketio/packets.json) plus the /stream messages of
Docs/stream.md. Re-run after changing those fixtures; the output is committed. File names are
the SHA-1 of the content, as libFuzzer names corpus files."""
import base64
import hashlib
import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Fixtures" / "fuzz"

engine = json.loads((ROOT / "Fixtures/engineio/packets.json").read_text())
socket = json.loads((ROOT / "Fixtures/socketio/packets.json").read_text())

corpora = {name: set() for name in ("engine-packet", "engine-payload", "socket-decoder", "json", "stream-message")}


def add(target, data):
    corpora[target].add(data.encode() if isinstance(data, str) else bytes(data))


def body(entry):
    return base64.b64decode(entry["bodyBase64"]) if "bodyBase64" in entry else entry["body"].encode()


# Engine.IO: single packets, and polling bodies.
for entry in engine["packets"] + engine["decodeOnly"] + engine["malformed"]:
    add("engine-packet", entry["wire"])
    add("engine-payload", entry["wire"])
for entry in engine["payloads"] + engine["malformedPayloads"]:
    add("engine-payload", body(entry))
for entry in engine["binaryFrames"]:
    add("engine-packet", "b" + entry["base64"])

# Socket.IO: a session's messages joined by 0x1E; 0x01 marks a binary message (see FuzzSocketDecoder).
SEP, BINARY = b"\x1e", b"\x01"
for entry in socket["valid"]:
    if entry.get("direction") == "encode":
        continue
    parts = [entry["wire"].encode()] + [BINARY + base64.b64decode(a) for a in entry.get("attachments", [])]
    add("socket-decoder", SEP.join(parts))
for entry in socket["malformed"]:
    parts = []
    for message in entry["messages"]:
        if "text" in message:
            parts.append(message["text"].encode())
        else:
            parts.append(BINARY + base64.b64decode(message["binary"]))
    add("socket-decoder", SEP.join(parts))

# JSON: every payload found in the Socket.IO wires (the text after the header), plus a few shapes.
for entry in socket["valid"] + socket["malformed"]:
    texts = [entry["wire"]] if "wire" in entry else [m["text"] for m in entry["messages"] if "text" in m]
    for text in texts:
        start = min([i for i in (text.find("["), text.find("{"), text.find('"')) if i >= 0], default=-1)
        if start >= 0:
            add("json", text[start:])
for extra in ['0', '-0.0e+0', '1e999', '"\\ud83d\\ude00 \\ud800"', '[[[[[[]]]]]]', '{"a":1,"a":2}',
              'true', 'null', '"\\u0000\\b\\f\\n\\r\\t\\"\\\\/"', '123456789012345678901234567890',
              '5e-324', '[1.5,-2.25e-7,1e21]', '  {"k" : [ null , false ] }  ']:
    add("json", extra)

# /stream messages (Docs/stream.md).
for text in [
    '{"action":"auth","token":"abc.def.ghi"}',
    '{"action":"ping"}',
    '{"action":"subscribe","namespace":"/monitoring","room":"ops","event_types":["task_failed","alert_created"],"since":55}',
    '{"action":"subscribe","room":"ops"}',
    '{"action":"subscribe","room":"r","namespace":null,"event_types":null,"since":null}',
    '{"action":"subscribe","room":"r","since":9007199254740991}',
    '{"action":"unsubscribe","namespace":"/chat","room":"lobby"}',
    '{"action":"dance"}',
    '{"action":"ping","id":7,"extra":{"a":[1]}}',
    '{"action":"publish","namespace":"/chat","room":"lobby","event":"chat_message","data":{"message":"hi"},"ref":"m-17"}',
    '{"action":"publish","room":"ops","event":"RUN_STARTED","data":{"threadId":"t","n":[1.5,1e999]},"ref":7}',
    '{"action":"publish","room":"r","event":"e","data":[]}',
    '{"action":"subscribe","namespace":"/monitoring","event_types":["RUN_STARTED","RUN_FINISHED"]}',
    '{"action":"subscribe","namespace":"/chat","since":3}',
    '{"action":"unsubscribe","namespace":"/monitoring","room":null,"ref":-3}',
    '{"type":"ping","ref":"hb"}',
    '{"action":"ping","ref":1.5}',
    '[1]',
    '{"action":5}',
]:
    add("stream-message", text)

if OUT.exists():
    shutil.rmtree(OUT)
for target, seeds in corpora.items():
    directory = OUT / target
    directory.mkdir(parents=True)
    for seed in seeds:
        (directory / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    print(f"{target}: {len(seeds)} seeds")
