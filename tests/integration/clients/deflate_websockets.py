#!/usr/bin/env python3
"""A Python `websockets` client (Debian 12: python3-websockets 10.4) driven by
tests/integration/test_deflate_clients.cpp over stdin and stdout, one JSON object a line.

    deflate_websockets.py URL

It connects with the library's defaults (permessage-deflate offered, as every user of the library
gets it) and prints
    {"event": "open", "extensions": <Sec-WebSocket-Extensions of the 101>, "negotiated": [...],
     "subprotocol": ..., "version": ...}
then, for each message received,
    {"event": "message", "data": <text, or base64 of binary>, "binary": bool, "rsv1": bool}
where rsv1 says whether the frame arrived compressed. It reads commands from stdin:
    {"cmd": "send", "data": TEXT}  sends TEXT, then prints {"event": "sent", "rsv1": bool}
    {"cmd": "close"}               closes with 1000 and exits 0
End of stdin closes as "close" does. When the connection ends, by either side, it prints
    {"event": "closed", "code": N, "reason": ...}
Any failure prints {"event": "error", "error": ...} and exits 1.
"""
import asyncio
import base64
import json
import sys

import websockets
from websockets import frames
from websockets.extensions import permessage_deflate

# Whether each data frame arrived or left with RSV1 (compressed), in order. The library hides
# RSV1 from its users; its deflate extension sees every frame first, so it is watched there.
received_rsv1 = []
sent_rsv1 = []
_decode = permessage_deflate.PerMessageDeflate.decode
_encode = permessage_deflate.PerMessageDeflate.encode


def decode(self, frame, *, max_size=None):
    if frame.opcode in (frames.Opcode.TEXT, frames.Opcode.BINARY):
        received_rsv1.append(frame.rsv1)
    return _decode(self, frame, max_size=max_size)


def encode(self, frame):
    out = _encode(self, frame)
    if frame.opcode in (frames.Opcode.TEXT, frames.Opcode.BINARY):
        sent_rsv1.append(out.rsv1)
    return out


permessage_deflate.PerMessageDeflate.decode = decode
permessage_deflate.PerMessageDeflate.encode = encode


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


async def main(url):
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

    async with websockets.connect(url, open_timeout=10, close_timeout=10, ping_interval=None,
                                  max_size=1 << 20) as ws:
        emit(event="open",
             extensions=ws.response_headers.get("Sec-WebSocket-Extensions", ""),
             negotiated=[repr(e) for e in ws.extensions],
             subprotocol=ws.subprotocol,
             version=websockets.__version__)

        async def receive():
            # Ends when the connection does, whoever closed it, and says so.
            try:
                async for m in ws:
                    rsv1 = received_rsv1.pop(0) if received_rsv1 else False
                    if isinstance(m, bytes):
                        emit(event="message", data=base64.b64encode(m).decode(), binary=True, rsv1=rsv1)
                    else:
                        emit(event="message", data=m, binary=False, rsv1=rsv1)
            except websockets.ConnectionClosed:
                pass
            emit(event="closed", code=ws.close_code, reason=ws.close_reason)

        receiver = asyncio.create_task(receive())
        while True:
            line = await stdin.readline()
            if not line:
                break
            cmd = json.loads(line)
            if cmd["cmd"] == "send":
                await ws.send(cmd["data"])
                emit(event="sent", rsv1=sent_rsv1.pop(0) if sent_rsv1 else False)
            elif cmd["cmd"] == "close":
                break
            else:
                raise ValueError(f"unknown command {cmd!r}")
        await ws.close(1000)
        await receiver


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1]))
    except Exception as e:  # reported to the test, which shows it
        emit(event="error", error=f"{type(e).__name__}: {e}")
        sys.exit(1)
