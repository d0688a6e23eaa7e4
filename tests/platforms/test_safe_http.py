"""The SSRF guard: allowlist at every hop, hop limit, http refusal, addresses checked
where connections are made (also against a rebinding DNS answer)."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver

from zenith.platforms.errors import NOT_FOUND, PermanentError
from zenith.platforms.factory import build_link_resolver
from zenith.platforms.safe_http import (
    AddressGuard,
    DisallowedUrlError,
    ForbiddenAddressError,
    SafeHttpClient,
    TooManyRedirectsError,
    is_forbidden_address,
)

TIKTOK_HOSTS = ("vm.tiktok.com", "vt.tiktok.com", "www.tiktok.com")


def local_client(server, **options) -> SafeHttpClient:
    """A client whose TikTok hostnames are served by the local fake."""
    host_map = {host: f"127.0.0.1:{server.port}" for host in TIKTOK_HOSTS}
    options.setdefault("allow_http", True)
    options.setdefault("allow_private_network", True)
    return SafeHttpClient(host_map=host_map, **options)


class ScriptedDns(AbstractResolver):
    """A DNS that answers from a script: one address (optionally ``address:port``) per lookup."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    async def resolve(self, host, port=0, family=socket.AF_INET):
        self.lookups.append(host)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        address, _, answer_port = answer.partition(":")
        port = int(answer_port) if answer_port else port
        return [{"hostname": host, "host": address, "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        return None


async def test_short_link_redirect_chain_resolves(tiktok):
    tiktok.state.add_video("7311111111111111111", author="creator")
    tiktok.state.add_short_link("ZMabc123", "7311111111111111111")
    async with local_client(tiktok) as client:
        final = await client.resolve_short_link("http://vm.tiktok.com/ZMabc123/")
    assert final.startswith("http://www.tiktok.com/@creator/video/7311111111111111111")
    # HEAD was enough at every hop: no page body was asked for.
    assert [m for m, _ in tiktok.state.calls] == ["HEAD", "HEAD"]


async def test_multi_hop_chain_within_allowlist(tiktok):
    tiktok.state.add_video("7322222222222222222", author="someone")
    tiktok.state.add_short_link("ZMfinal", "7322222222222222222")
    tiktok.state.redirects["/hop1"] = "http://vt.tiktok.com/hop2"
    tiktok.state.redirects["/hop2"] = "/ZMfinal/"  # relative Location, same host
    async with local_client(tiktok) as client:
        final = await client.resolve_short_link("http://vm.tiktok.com/hop1")
    assert "/@someone/video/7322222222222222222" in final


async def test_redirect_to_other_host_is_refused(tiktok):
    tiktok.state.redirects["/evil"] = "http://169.254.169.254/latest/meta-data/"
    tiktok.state.redirects["/evil2"] = "http://example.com/"
    async with local_client(tiktok) as client:
        with pytest.raises(DisallowedUrlError, match="host"):
            await client.resolve_short_link("http://vm.tiktok.com/evil")
        with pytest.raises(DisallowedUrlError, match="example.com"):
            await client.resolve_short_link("http://vm.tiktok.com/evil2")


async def test_more_than_three_hops_is_refused(tiktok):
    for n in range(1, 6):
        tiktok.state.redirects[f"/loop{n}"] = f"/loop{n + 1}"
    async with local_client(tiktok) as client:
        with pytest.raises(TooManyRedirectsError):
            await client.resolve_short_link("http://vm.tiktok.com/loop1")
    # the original request and three redirects: four requests, never a fifth
    assert len(tiktok.state.calls) == 4


async def test_exactly_three_hops_is_fine(tiktok):
    tiktok.state.add_video("7333333333333333333", author="a")
    tiktok.state.add_short_link("ZMend", "7333333333333333333")
    tiktok.state.redirects["/h1"] = "/h2"
    tiktok.state.redirects["/h2"] = "/ZMend/"
    async with local_client(tiktok) as client:
        final = await client.resolve_short_link("http://vm.tiktok.com/h1")
    assert final.endswith("/@a/video/7333333333333333333?_r=1&_t=8kLbc3hJx2")


@pytest.mark.parametrize(
    "url",
    [
        "http://vm.tiktok.com/ZMabc/",  # http without allow_http
        "ftp://vm.tiktok.com/x",
        "https://evil.com/x",
        "https://vm.tiktok.com.evil.com/x",
        "https://user:pw@vm.tiktok.com/x",
        "https://vm.tiktok.com:8443/x",
        "https://127.0.0.1/x",
        "not a url",
    ],
)
async def test_bad_urls_are_refused_before_any_request(url):
    async with SafeHttpClient() as client:
        with pytest.raises(DisallowedUrlError):
            await client.resolve_short_link(url)


async def test_private_address_refused_without_the_test_override(tiktok):
    # Same mapping to the local fake, but the private-network allowance is off:
    # the guard refuses the connection and the fake never sees a request.
    async with local_client(tiktok, allow_private_network=False) as client:
        with pytest.raises(ForbiddenAddressError, match="127.0.0.1"):
            await client.resolve_short_link("http://vm.tiktok.com/ZMabc/")
    assert tiktok.state.calls == []


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "0.0.0.0"])
async def test_dns_answer_with_private_address_is_refused_at_connect_time(address):
    dns = ScriptedDns(address)
    async with SafeHttpClient(dns_resolver=dns, connect_timeout=1, total_timeout=2) as client:
        with pytest.raises(ForbiddenAddressError):
            await client.resolve_short_link("https://vm.tiktok.com/ZMabc/")
    assert dns.lookups == ["vm.tiktok.com"]


async def test_rebinding_dns_is_checked_on_every_connection(tiktok):
    # First answer: the (allowed, in this test) fake; second answer: a link-local
    # metadata address. A check done once before connecting would miss the second.
    tiktok.state.redirects["/r"] = "http://vt.tiktok.com/r2"
    dns = ScriptedDns(f"127.0.0.1:{tiktok.port}", "169.254.169.254")
    async with SafeHttpClient(dns_resolver=dns, allow_http=True, allow_private_network=True, total_timeout=2) as client:
        with pytest.raises(ForbiddenAddressError, match="169.254.169.254"):
            await client.resolve_short_link("http://vm.tiktok.com/r")
    assert dns.lookups == ["vm.tiktok.com", "vt.tiktok.com"]
    assert tiktok.state.calls == [("HEAD", "/r")]


def test_socket_factory_refuses_forbidden_peer():
    guard = AddressGuard(allow_private=False)
    with pytest.raises(ForbiddenAddressError):
        guard.socket_factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443)))
    sock = guard.socket_factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("142.250.74.110", 443)))
    sock.close()


@pytest.mark.parametrize(
    ("address", "allow_private", "forbidden"),
    [
        ("8.8.8.8", False, False),
        ("2a00:1450:4001:82b::200e", False, False),
        ("127.0.0.1", False, True),
        ("127.0.0.1", True, False),
        ("::1", False, True),
        ("::ffff:127.0.0.1", False, True),
        ("::ffff:10.0.0.1", False, True),
        ("10.0.0.1", False, True),
        ("172.16.5.4", False, True),
        ("100.64.0.1", False, True),  # carrier-grade NAT
        ("169.254.169.254", True, True),  # cloud metadata: never, even in tests
        ("fe80::1", True, True),
        ("224.0.0.1", True, True),
        ("0.0.0.0", True, True),
        ("240.0.0.1", True, True),
        ("fc00::1", False, True),
        ("garbage", True, True),
    ],
)
def test_is_forbidden_address(address, allow_private, forbidden):
    assert is_forbidden_address(address, allow_private=allow_private) is forbidden


async def test_dead_short_link_is_not_found(tiktok):
    async with local_client(tiktok) as client:
        with pytest.raises(PermanentError) as caught:
            await client.resolve_short_link("http://vm.tiktok.com/ZMgone/")
    assert caught.value.reason == NOT_FOUND
    # HEAD answered 404, so GET was tried before giving up
    assert [m for m, _ in tiktok.state.calls] == ["HEAD", "GET"]


async def test_resolve_short_link_from_settings(tiktok, make_settings):
    tiktok.state.add_video("7344444444444444444", author="b")
    tiktok.state.add_short_link("ZMset", "7344444444444444444")
    settings = make_settings(ALLOW_PRIVATE_NETWORK="true")
    host_map = {host: f"127.0.0.1:{tiktok.port}" for host in TIKTOK_HOSTS}
    async with build_link_resolver(settings, host_map=host_map) as client:
        final = await client.resolve_short_link("http://vm.tiktok.com/ZMset/")
    assert "/@b/video/7344444444444444444" in final
    strict = make_settings(ALLOW_PRIVATE_NETWORK="false")
    async with build_link_resolver(strict, host_map=host_map) as client:
        with pytest.raises(DisallowedUrlError):
            await client.resolve_short_link("http://vm.tiktok.com/ZMset/")
