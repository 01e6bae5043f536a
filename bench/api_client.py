"""The evqc API over real HTTP, for the benchmarks that call it as instruments do.

`live_server()` runs Django's WSGI application in a thread of Django's own threaded
development server on 127.0.0.1 and a free port (what pytest-django's live_server does);
`HttpClient` sends requests on one persistent HTTP/1.1 connection and counts the
connections it had to open, so a benchmark can say whether keep-alive held (Django's
server keeps a connection open when the response has a Content-Length, which
CommonMiddleware sets).

The server disables Nagle's algorithm on its connections, as production servers do
(gunicorn sets TCP_NODELAY on its listening sockets). Django's development server does
not: it writes a response's headers and body in two sends, and the body then waits for
the client's delayed ACK of the headers, about 40 ms a request on Linux, which would be
measured as evqc's time.
"""

from __future__ import annotations

import http.client
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def live_server() -> Iterator[int]:
    """A running server for the configured Django project, serving the production WSGI
    application (config.wsgi, as gunicorn would); yields its port."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        disable_nagle_algorithm = True  # socketserver sets TCP_NODELAY on each connection

    server = ThreadedWSGIServer(("127.0.0.1", 0), Handler, allow_reuse_address=False)
    from config.wsgi import application  # sets Django's logging up: quiet it after

    # One log line per request otherwise; errors still reach the log.
    logging.getLogger("django.server").setLevel(logging.WARNING)
    server.set_app(application)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class HttpClient:
    """JSON requests to one server on a persistent connection."""

    def __init__(self, port: int, *, token: str = "") -> None:
        self.port = port
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.connection: http.client.HTTPConnection | None = None
        self.connections_opened = 0

    def send(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> tuple[int, bytes]:
        """The status and body of one request; a body is sent as given (JSON bytes)."""
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.connections_opened += 1
        self.connection.request(method, path, body=body, headers=self.headers | headers)
        response = self.connection.getresponse()
        content = response.read()
        if response.will_close:  # the server said Connection: close
            self.close()
        return response.status, content

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
