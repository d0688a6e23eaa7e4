"""The keep-alive HTTP client against real local servers: reuse, the answer's framings,
and every way a server can break an exchange (it must fail that call and never hand a
stale answer to the next one)."""

from __future__ import annotations

import asyncio
import ssl
from contextlib import asynccontextmanager

import pytest
import trustme
from aiohttp import web

from tests.fakes.raw_http import RawServer, answer
from zenith.platforms.keepalive_http import HttpClientError, KeepAliveClient


@asynccontextmanager
async def serving(respond, **options):
    """A raw server answering with ``respond`` and a client of it (``options``: the client's), closed after."""
    async with RawServer(respond) as server:
        client = KeepAliveClient(server.origin, **options)
        try:
            yield server, client
        finally:
            await client.close()


async def echo(body: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(answer(b"echo:" + body))


async def test_concurrent_calls_share_keep_alive_connections_and_get_their_own_answers():
    async with serving(echo, max_connections=4) as (server, client):
        results = await asyncio.gather(
            *(client.post("/x", f"{i}".encode(), content_type="application/json", timeout=5) for i in range(200))
        )
    assert results == [(200, f"echo:{i}".encode()) for i in range(200)]
    assert server.connections <= 4  # at most max_connections, each carrying many requests


async def test_a_chunked_answer_and_an_answer_ending_with_the_connection_are_read_whole():
    async def chunked(body: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")

    async def until_close(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nno length, ")
        await writer.drain()
        writer.write(b"ends at EOF")
        return False  # close

    for respond, expected in ((chunked, b"hello world"), (until_close, b"no length, ends at EOF")):
        async with serving(respond) as (server, client):
            assert await client.post("/", b"{}", content_type="application/json", timeout=5) == (200, expected)
            assert await client.post("/", b"{}", content_type="application/json", timeout=5) == (200, expected)
        assert server.connections == (1 if respond is chunked else 2)  # an EOF-ended answer spends its connection


async def test_connection_close_and_an_idle_connection_the_server_dropped_cost_a_new_connection_not_a_call():
    async def close_after(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer(b"ok", "Connection: close" if body == b"say-close" else "X-Idle: drop"))
        return False  # both close; only the first says so

    async with serving(close_after) as (server, client):
        assert await client.post("/", b"say-close", content_type="application/json", timeout=5) == (200, b"ok")
        assert await client.post("/", b"silent", content_type="application/json", timeout=5) == (200, b"ok")
        await asyncio.sleep(0.05)  # the silent close reaches the client while the connection is idle
        assert await client.post("/", b"after", content_type="application/json", timeout=5) == (200, b"ok")
    assert server.connections == 3


async def test_a_connection_idle_longer_than_the_keep_alive_time_is_not_reused():
    async with serving(echo, keepalive_seconds=0.1) as (server, client):
        assert await client.post("/", b"1", content_type="application/json", timeout=5) == (200, b"echo:1")
        assert await client.post("/", b"2", content_type="application/json", timeout=5) == (200, b"echo:2")
        await asyncio.sleep(0.2)
        assert await client.post("/", b"3", content_type="application/json", timeout=5) == (200, b"echo:3")
    assert server.connections == 2  # 1 and 2 on the first, 3 on a new one


async def test_an_answer_cut_short_fails_that_call_and_the_next_call_gets_its_own_answer():
    async def cut_short(body: bytes, writer: asyncio.StreamWriter) -> bool | None:
        if body == b"cut":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
            return False
        writer.write(answer(body))
        return None

    async with serving(cut_short) as (server, client):
        with pytest.raises(HttpClientError, match="closed the connection before the whole answer"):
            await client.post("/", b"cut", content_type="application/json", timeout=5)
        assert await client.post("/", b"next", content_type="application/json", timeout=5) == (200, b"next")


async def test_garbage_instead_of_http_is_an_error_and_the_connection_is_not_reused():
    async def garbage(body: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\x00\xffnot http at all\r\n\r\n" if body == b"bad" else answer(body))

    async with serving(garbage) as (server, client):
        with pytest.raises(HttpClientError, match="not an HTTP answer"):
            await client.post("/", b"bad", content_type="application/json", timeout=5)
        assert await client.post("/", b"good", content_type="application/json", timeout=5) == (200, b"good")
    assert server.connections == 2


async def test_a_late_answer_after_a_timeout_is_never_read_as_the_next_calls_answer():
    async def slow_first(body: bytes, writer: asyncio.StreamWriter) -> None:
        if body == b"slow":
            await asyncio.sleep(0.5)
        writer.write(answer(b"answer to " + body))

    async with serving(slow_first, max_connections=1) as (server, client):
        with pytest.raises(TimeoutError):
            await client.post("/", b"slow", content_type="application/json", timeout=0.1)
        await asyncio.sleep(0.6)  # the slow answer is sent now, to a connection the client dropped
        assert server.ended == 1  # closed, not left open in the background
        assert await client.post("/", b"fast", content_type="application/json", timeout=5) == (
            200,
            b"answer to fast",
        )
    assert server.connections == 2


async def test_a_cancelled_call_drops_its_connection():
    async def never(body: bytes, writer: asyncio.StreamWriter) -> None:
        if body != b"hang":  # no answer to "hang": the server reads on, and sees the client close
            writer.write(answer(body))

    async with serving(never, max_connections=1) as (server, client):
        call = asyncio.create_task(client.post("/", b"hang", content_type="application/json", timeout=30))
        await asyncio.sleep(0.1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.sleep(0.05)
        assert server.ended == 1
        assert await client.post("/", b"then", content_type="application/json", timeout=5) == (200, b"then")
    assert server.connections == 2


async def test_bytes_on_an_idle_connection_make_it_unusable():
    async def then_408(body: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(answer(body))
        if body == b"first":
            await writer.drain()
            writer.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")  # as nginx does before closing

    async with serving(then_408, max_connections=1) as (server, client):
        assert await client.post("/", b"first", content_type="application/json", timeout=5) == (200, b"first")
        await asyncio.sleep(0.05)
        assert await client.post("/", b"second", content_type="application/json", timeout=5) == (200, b"second")
    assert server.connections == 2


async def test_a_refused_connection_is_a_client_error():
    async with RawServer(echo) as server:
        origin = server.origin
    client = KeepAliveClient(origin)
    with pytest.raises(HttpClientError, match="cannot connect"):
        await client.post("/", b"{}", content_type="application/json", timeout=5)


async def test_status_headers_and_body_reach_an_aiohttp_server_over_https():
    authority = trustme.CA()
    certificate = authority.issue_cert("localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    seen: list[tuple[str, str, str, bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append((request.path, request.host, request.content_type, await request.read()))
        return web.Response(text='{"ok": false, "description": "Привет"}', content_type="application/json", status=400)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = KeepAliveClient(f"https://localhost:{port}", ssl_context=client_context)
    try:
        status, body = await client.post(
            "/bot1:x/sendMessage", '{"text":"ё"}'.encode(), content_type="application/json", timeout=5
        )
        untrusted = KeepAliveClient(f"https://localhost:{port}")  # the system's roots do not know the test CA
        with pytest.raises(HttpClientError, match="cannot connect"):
            await untrusted.post("/", b"{}", content_type="application/json", timeout=5)
    finally:
        await client.close()
        await runner.cleanup()
    assert status == 400 and body.decode() == '{"ok": false, "description": "Привет"}'
    assert seen == [("/bot1:x/sendMessage", f"localhost:{port}", "application/json", '{"text":"ё"}'.encode())]
