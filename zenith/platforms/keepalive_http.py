"""A lean HTTP/1.1 client for one server: pooled keep-alive connections, each request
written in one piece, each answer read by httptools' C parser.

Why not aiohttp on this path: its client spends about 70 us of CPU per request in
Python (request and response objects, header multidicts, timers, trace signals, the
cookie jar), and the bot makes one Bot API call for every update it answers; this client
spends about 30 us (``benchmarks/http_client_cost.py``). It does only what a JSON API
call needs: POST a body, read the status and the body (Content-Length, chunked, or up to
the end of the connection), and honour the server's ``Connection: close``. Uploads,
redirects, proxies, cookies and compression stay with aiohttp.

A connection carries one request at a time and goes back to the pool only after a whole
answer that the server will keep alive; a timeout, a cancellation or a broken answer
closes it, so a late answer can never be read as the next request's.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

import httptools

DEFAULT_PORTS = {"http": 80, "https": 443}
# An idle connection older than this is closed rather than reused: a server drops idle
# connections after its own timeout (nginx: 75 s), and a request written just as it does
# fails. 15 s is aiohttp's keep-alive timeout, so no connection lives longer than before.
KEEPALIVE_SECONDS = 15.0


class HttpClientError(Exception):
    """The exchange failed below HTTP: no connection, a connection closed before the whole
    answer, or an answer that is not HTTP."""


class KeepAliveClient:
    """POST requests to one origin (``http[s]://host[:port]``) over at most
    ``max_connections`` keep-alive connections; more callers wait for a free one.

    Parameters:
      origin: the server's scheme, host and port; a path is ignored (give it per request).
      max_connections: connections kept and requests in flight at once (aiohttp's default
        per session is 100 as well).
      ssl_context: for https; default: the system's trusted certificates.
      user_agent: the User-Agent header.
      keepalive_seconds: how long an idle connection is kept for reuse.
    """

    def __init__(
        self,
        origin: str,
        *,
        max_connections: int = 100,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = "zenith",
        keepalive_seconds: float = KEEPALIVE_SECONDS,
    ) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an http(s) origin: {origin!r}")
        self.host = parts.hostname
        self.port = parts.port or DEFAULT_PORTS[parts.scheme]
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._ssl = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        host_header = parts.netloc.rsplit("@", 1)[-1]
        self._head = f"Host: {host_header}\r\nUser-Agent: {user_agent}\r\n"
        self.max_connections = max_connections
        self.keepalive_seconds = keepalive_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._idle: list[_Connection] = []
        self._closed = False

    async def post(self, target: str, body: bytes, *, content_type: str, timeout: float) -> tuple[int, bytes]:
        """Send ``body`` to ``target`` (a path, e.g. "/bot<token>/sendMessage"); the answer's
        status and body.

        Raises ``HttpClientError`` (see there), ``TimeoutError`` when the whole exchange,
        connecting included, takes longer than ``timeout`` seconds.
        """
        if self._closed:
            raise HttpClientError("the client is closed")
        request = (
            f"POST {target} HTTP/1.1\r\n{self._head}Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("ascii") + body
        slots = self._slots_of_this_loop()
        async with asyncio.timeout(timeout), slots:  # waiting for a free connection counts too
            connection = await self._acquire()
            try:
                status, content = await connection.exchange(request)
            except BaseException:
                connection.abort()  # mid-exchange: what comes later on it would be this answer
                raise
            if connection.reusable and not connection.closed and not self._closed:
                connection.idle_since = asyncio.get_running_loop().time()
                self._idle.append(connection)
            else:
                connection.close()
        return status, content

    async def close(self) -> None:
        """Close the idle connections; one still in use closes when its answer is read."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _slots_of_this_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or loop is not self._loop:
            # first use, or a new event loop (a test's, a restarted actor runtime's): the
            # old loop's connections cannot be used from this one
            self._loop, self._slots, self._idle = loop, asyncio.Semaphore(self.max_connections), []
        return self._slots

    async def _acquire(self) -> _Connection:
        loop = asyncio.get_running_loop()
        while self._idle:
            connection = self._idle.pop()  # the most recently used: the least likely to have timed out
            if connection.closed:
                continue
            if loop.time() - connection.idle_since > self.keepalive_seconds:
                connection.close()
                continue
            return connection
        try:
            _, connection = await loop.create_connection(
                _Connection, self.host, self.port, ssl=self._ssl, server_hostname=self.host if self._ssl else None
            )
        except OSError as exc:  # refused, unreachable, TLS handshake failed (ssl.SSLError)
            raise HttpClientError(f"cannot connect to {self.origin}: {exc}") from exc
        return connection


class _Connection(asyncio.Protocol):
    """One keep-alive connection; ``exchange`` writes a request and waits for its answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.reusable = False
        self.idle_since = 0.0  # loop time of its return to the pool
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._body: list[bytes] = []
        self._status = 0
        self._headers_done = False
        self._delimited = False  # Content-Length or chunked: the answer's end is known without EOF
        self._stray = False

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.closed or self.transport is None:
            raise HttpClientError("the connection is closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self._body, self._status, self._headers_done, self._delimited = [], 0, False, False
        self.reusable = False
        self.transport.write(request)
        return await self._waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for (a server's 408 before closing): unusable
            self.abort()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpClientError(f"not an HTTP answer: {exc}"))
            self.abort()
            return
        if self._stray:  # a second answer behind this one, in the same bytes
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if self._waiter is None:
            return
        if self._headers_done and not self._delimited:
            self._finish()  # an answer without a length ends where the connection does
        else:
            reason = f": {exc}" if exc else ""
            self._fail(HttpClientError(f"the server closed the connection before the whole answer{reason}"))

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self._waiter is None:
            self._stray = True

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-length" or (name == b"transfer-encoding" and b"chunked" in value.lower()):
            self._delimited = True

    def on_headers_complete(self) -> None:
        self._status = self.parser.get_status_code()
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.reusable = self.parser.should_keep_alive() and not self._stray
        self._finish()

    def _finish(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self._status, b"".join(self._body)))

    def _fail(self, error: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
