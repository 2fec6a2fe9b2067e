#!/usr/bin/env python3
"""A crier webhook receiver in the standard library alone (docs/webhooks.md).

    CRIER_WEBHOOK_SECRET=s3cret python3 webhook_receiver.py [PORT]

It checks each request's signature and timestamp, answers 204 (or 401), and prints each event
once: a retried request repeats the ids of events it delivered already.
"""
import hashlib, hmac, json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ["CRIER_WEBHOOK_SECRET"].encode()
seen, seen_lock = set(), threading.Lock()  # a real receiver keeps ids for a day, say, in its database


def verified(headers, body):
    timestamp = headers.get("X-Crier-Timestamp", "")
    expected = "sha256=" + hmac.new(SECRET, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300  # refuses replays
    return fresh and hmac.compare_digest(headers.get("X-Crier-Signature", ""), expected)


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps the connection open, as crier asks

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if not verified(self.headers, body):
            return self.answer(401)
        for event in json.loads(body)["events"]:
            with seen_lock:
                if event["id"] in seen:
                    continue
                seen.add(event["id"])
            print(event["id"], event["type"], event["room"], json.dumps(event), flush=True)
        self.answer(204)

    def answer(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8000), Receiver)
print("listening on http://%s:%d" % server.server_address, flush=True)
server.serve_forever()
