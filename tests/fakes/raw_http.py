"""An HTTP server on a raw socket, for tests that need a server to misbehave in ways a
framework would not let it (cut an answer short, send bytes nobody asked for, close a
keep-alive connection without saying so)."""

from __future__ import annotations

import asyncio


class RawServer:
    """A TCP server on a free port whose answer to each request is ``respond(request_bytes,
    writer)``; counts connections and requests."""

    def __init__(self, respond) -> None:
        self.respond = respond
        self.connections = 0
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.ended = 0  # connections that ended (the client closed them, or the answer did)

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                body = await reader.readexactly(length)
                self.requests.append(body)
                if await self.respond(body, writer) is False:
                    return
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return  # the client closed or reset the connection: this connection's exchange is over
        finally:
            self.ended += 1
            writer.close()


def answer(body: bytes, *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
