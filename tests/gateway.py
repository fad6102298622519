"""A stand-in for the county's SMS gateway: a real HTTP server on a free local port that
records what it is sent, and can be made to fail (down) or to hang (held)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Gateway:
    def __init__(self):
        self.received: list[dict] = []  # every body, in arrival order, repeats included
        self.down = False
        self.delay = 0.0  # seconds each answer takes
        self.held = threading.Event()  # set: requests wait until released
        self.released = threading.Event()
        self.arrived = threading.Condition()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body["idempotency_header"] = self.headers.get("Idempotency-Key")
                body["path"] = self.path
                if gateway.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                with gateway.arrived:
                    gateway.received.append(body)
                    gateway.arrived.notify_all()
                if gateway.held.is_set():
                    gateway.released.wait(60)
                time.sleep(gateway.delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 30) -> None:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"the gateway got {len(self.received)} of {count} messages")

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def texts_to(self, phone: str) -> list[str]:
        return [body["text"] for body in self.received if body.get("phone") == phone]
