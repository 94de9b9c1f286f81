"""An S3-compatible server for restlake's tests: moto's standalone S3 server on loopback.

Usage: python s3_server.py [--host 127.0.0.1] [--port 0]
Prints one line `READY <port>` on stdout once it accepts connections, then serves
until it gets SIGTERM/SIGINT or its stdin closes (the parent test process died),
so an aborted test run never leaves a server behind.

Why the write lock: moto checks `If-None-Match: *` and then stores the object in two
steps, and its server is threaded, so two racing conditional PUTs of one key could
both succeed. Real S3 makes that check atomic (one of them gets 412), and restlake's
Delta commits rely on it. Serialising the mutating requests gives moto the same
guarantee; reads stay concurrent.
"""

import argparse
import logging
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

MUTATING = frozenset(("PUT", "POST", "DELETE"))


class AtomicWrites:
    """WSGI middleware: one mutating request at a time, response fully built inside the lock."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") not in MUTATING:
            return self.app(environ, start_response)
        with self.lock:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


def exit_when_stdin_closes():
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except Exception:
        pass
    os._exit(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = AtomicWrites(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, args.port, app, threaded=True)
    os.environ["MOTO_PORT"] = str(server.server_port)

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()

    print(f"READY {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
