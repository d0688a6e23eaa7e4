"""A safe HTTP client for URLs that users send us (short links), guarded against SSRF.

Every hop of a redirect chain must be https (http only when ``allow_http``), go to an
allowlisted YouTube/TikTok/Instagram host on its default port, and carry no user:password. The
addresses are checked where the connection is made, not by an earlier lookup: the
resolver validates every address it hands to aiohttp (so a second, rebinding DNS answer
is checked too) and the socket factory checks the address again right before
``connect()`` (this also covers IP literals, which aiohttp never resolves). DNS caching
is off so no unchecked answer is reused. Bodies are never read: a hop is asked with HEAD
(GET only when HEAD is refused) and the connection is dropped unread.

For tests, ``host_map`` serves an allowlisted hostname from another address
(``{"vm.tiktok.com": "127.0.0.1:8123"}``); the mapped address still goes through the
same checks, so it only works together with ``allow_private_network=True``.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any, Mapping

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from zenith.platforms.errors import (
    NOT_FOUND,
    PermanentError,
    PlatformError,
    TransientError,
    is_transient_status,
    parse_retry_after,
)
from zenith.platforms.http_common import TRANSPORT_ERRORS, transient_from_exception
from zenith.platforms.retrying import SHORT_LINKS, RetryPolicy

ALLOWED_HOSTS = frozenset(
    {
        "youtube.com",
        "www.youtube.com",
        "m.youtube.com",
        "youtu.be",
        "music.youtube.com",
        "tiktok.com",
        "www.tiktok.com",
        "m.tiktok.com",
        "vm.tiktok.com",
        "vt.tiktok.com",
        "instagram.com",
        "www.instagram.com",
        "m.instagram.com",
        "instagr.am",
        "www.instagr.am",
    }
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"https": 443, "http": 80}
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


class UnsafeUrlError(PlatformError):
    """A URL (or a hop of its redirect chain) that we refuse to fetch. Not retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message, platform="http")


class DisallowedUrlError(UnsafeUrlError):
    """Wrong scheme, a host off the allowlist, an explicit port, or user:password.

    ``host`` is the refused URL's host (lower case; "" when it has none), so a caller can
    tell the user where a short link really led.
    """

    def __init__(self, message: str, *, host: str = "") -> None:
        super().__init__(message)
        self.host = host


class ForbiddenAddressError(UnsafeUrlError):
    """The host resolves to a loopback/private/link-local/multicast/reserved address."""


class TooManyRedirectsError(UnsafeUrlError):
    """The redirect chain is longer than ``max_redirects`` hops."""


def is_forbidden_address(address: str, *, allow_private: bool = False) -> bool:
    """Whether connecting to ``address`` could reach something inside our network.

    :param allow_private: permit loopback and private ranges (local tests only);
        link-local (cloud metadata), multicast, unspecified and reserved stay forbidden.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
        elif ip.teredo is not None:
            ip = ip.teredo[1]
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return True
    if ip.is_loopback or ip.is_private or not ip.is_global:
        return not allow_private
    return False


@dataclass(frozen=True)
class AddressGuard:
    """Checks the addresses that connections are about to use.

    :param allow_private: see ``is_forbidden_address``.
    """

    allow_private: bool = False

    def check(self, address: str, *, host: str) -> None:
        if is_forbidden_address(address, allow_private=self.allow_private):
            raise ForbiddenAddressError(f"{host} resolves to a forbidden address {address}")

    def socket_factory(self, addr_info: Any) -> socket.socket:
        """aiohttp's ``socket_factory``: the last check, right before ``connect()``."""
        family, type_, proto, _, sockaddr = addr_info
        self.check(str(sockaddr[0]), host=str(sockaddr[0]))
        return socket.socket(family=family, type=type_, proto=proto)


class GuardedResolver(AbstractResolver):
    """Resolves through ``base`` (or ``host_map``) and refuses forbidden addresses.

    :param guard: the address policy.
    :param base: the real resolver; default aiohttp's ``ThreadedResolver``.
    :param host_map: hostname -> ``"address:port"`` overrides (tests).
    """

    def __init__(
        self,
        *,
        guard: AddressGuard,
        base: AbstractResolver | None = None,
        host_map: Mapping[str, str] | None = None,
    ) -> None:
        self._guard = guard
        self._base = base or ThreadedResolver()
        self._host_map = {k.lower(): v for k, v in (host_map or {}).items()}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        target_host, target_port = host, port
        override = self._host_map.get(host.lower().rstrip("."))
        if override is not None:
            target_host, _, raw_port = override.rpartition(":")
            target_host, target_port = target_host.strip("[]"), int(raw_port)
        if _is_ip(target_host):
            results: list[ResolveResult] = [
                {
                    "hostname": host,
                    "host": target_host,
                    "port": target_port,
                    "family": _family_of(target_host),
                    "proto": 0,
                    "flags": 0,
                }
            ]
        else:
            results = await self._base.resolve(target_host, target_port, family)
        if not results:
            raise ForbiddenAddressError(f"{host} resolved to no address")
        for result in results:
            self._guard.check(result["host"], host=host)
        return results

    async def close(self) -> None:
        await self._base.close()


class SafeHttpClient:
    """Fetches user-supplied YouTube/TikTok URLs safely. Use as ``async with``.

    :param allowed_hosts: hostnames every hop must be on; default ``ALLOWED_HOSTS``.
    :param allow_http: also accept plain http (local tests only). Default False.
    :param allow_private_network: let connections reach loopback/private addresses
        (local tests only). Default False.
    :param host_map: hostname -> ``"address:port"`` overrides (tests). Default none.
    :param max_redirects: redirect hops followed at most. Default 3.
    :param connect_timeout: seconds to connect. Default 5.
    :param total_timeout: seconds for one request, body included. Default 10.
    :param dns_resolver: the real resolver under the guard (tests inject one).
    :param retry: retry policy of a short link's resolution. Default ``retrying.SHORT_LINKS``.
    """

    def __init__(
        self,
        *,
        allowed_hosts: frozenset[str] = ALLOWED_HOSTS,
        allow_http: bool = False,
        allow_private_network: bool = False,
        host_map: Mapping[str, str] | None = None,
        max_redirects: int = 3,
        connect_timeout: float = 5.0,
        total_timeout: float = 10.0,
        dns_resolver: AbstractResolver | None = None,
        retry: RetryPolicy = SHORT_LINKS,
    ) -> None:
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)
        self.allow_http = allow_http
        self.max_redirects = max_redirects
        self._guard = AddressGuard(allow_private=allow_private_network)
        self._host_map = {k.lower(): v for k, v in (host_map or {}).items()}
        self._dns_resolver = dns_resolver
        self._retry = retry
        self._timeout = aiohttp.ClientTimeout(
            total=total_timeout, sock_connect=connect_timeout, connect=connect_timeout
        )
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> "SafeHttpClient":
        """A client configured from ``Settings`` (http is accepted only with ALLOW_PRIVATE_NETWORK;
        HTTP_HOST_MAP becomes ``host_map``, whose addresses still pass the address guard)."""
        options: dict[str, Any] = {
            "allow_http": settings.allow_private_network,
            "allow_private_network": settings.allow_private_network,
            "total_timeout": float(settings.http_timeout_seconds),
            "host_map": dict(getattr(settings, "http_host_map", ()) or ()),
        }
        options.update(overrides)
        return cls(**options)

    async def __aenter__(self) -> "SafeHttpClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            resolver = GuardedResolver(guard=self._guard, base=self._dns_resolver, host_map=self._host_map)
            connector = aiohttp.TCPConnector(
                resolver=resolver,
                use_dns_cache=False,
                socket_factory=self._guard.socket_factory,
                limit=50,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                trust_env=False,  # never route through an environment proxy
                headers={"User-Agent": BROWSER_USER_AGENT, "Accept-Language": "en-US,en;q=0.9"},
            )
        return self._session

    def check_url(self, url: str | URL) -> URL:
        """The URL parsed, or ``DisallowedUrlError`` saying why it is refused."""
        try:
            parsed = url if isinstance(url, URL) else URL(str(url).strip())
        except (ValueError, TypeError) as exc:
            raise DisallowedUrlError(f"not a URL: {url!r} ({exc})") from None
        allowed_schemes = {"https", "http"} if self.allow_http else {"https"}
        if parsed.scheme not in allowed_schemes:
            raise DisallowedUrlError(f"scheme {parsed.scheme!r} is not allowed: {url}")
        host = (parsed.host or "").lower().rstrip(".")
        if host not in self.allowed_hosts:
            raise DisallowedUrlError(f"host {host!r} is not allowed: {url}", host=host)
        if parsed.user is not None or parsed.password is not None:
            raise DisallowedUrlError(f"credentials in URL are not allowed: {url}", host=host)
        if parsed.explicit_port is not None and parsed.explicit_port != DEFAULT_PORTS[parsed.scheme]:
            raise DisallowedUrlError(f"port {parsed.explicit_port} is not allowed: {url}", host=host)
        return parsed

    async def resolve_short_link(self, url: str) -> str:
        """The URL a short link finally points to, without downloading page bodies.

        Asks with HEAD and falls back to GET (body left unread) when HEAD is refused; a
        transient failure (429/5xx, timeout, reset) starts the chain again under the retry
        policy. Raises ``PermanentError(NOT_FOUND)`` for a 404/410 end, ``TransientError``
        for 429/5xx after the policy's attempts, ``UnsafeUrlError`` subclasses for anything
        refused (never retried).
        """
        return await self._retry.call(self._resolve_once, url, label="short link")

    async def _resolve_once(self, url: str) -> str:
        current = self.check_url(url)
        for _hop in range(self.max_redirects + 1):
            status, next_url, retry_after = await self._probe(current, "HEAD")
            if next_url is None and not 200 <= status < 300:
                status, next_url, retry_after = await self._probe(current, "GET")
            if next_url is None:
                if status in (404, 410):
                    raise PermanentError(f"{current} answered {status}", reason=NOT_FOUND, platform="http")
                if is_transient_status(status):
                    raise TransientError(
                        f"{current} answered {status}", platform="http", status=status, retry_after=retry_after
                    )
                return str(current)
            current = next_url
        raise TooManyRedirectsError(f"more than {self.max_redirects} redirects from {url}")

    async def _probe(self, url: URL, method: str) -> tuple[int, URL | None, float | None]:
        async with self._request(method, url) as response:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            target = self._redirect_target(response, url)
            response.close()  # the body is not needed: drop the connection unread
            return response.status, target, retry_after

    def _request(self, method: str, url: URL) -> "_GuardedRequest":
        return _GuardedRequest(self._get_session(), method, self._wire_url(url))

    def _wire_url(self, url: URL) -> URL:
        """The URL actually requested: a host served from ``host_map`` by a local plain-HTTP
        fake is reached over http when http is allowed (local mode only), so a link's
        canonical https URL can be resolved against the fake. Everything else unchanged."""
        host = (url.host or "").lower().rstrip(".")
        if self.allow_http and url.scheme == "https" and host in self._host_map:
            return url.with_scheme("http")
        return url

    def _redirect_target(self, response: aiohttp.ClientResponse, current: URL) -> URL | None:
        if response.status not in REDIRECT_STATUSES:
            return None
        location = response.headers.get("Location")
        if not location:
            return None
        return self.check_url(current.join(URL(location)))


class _GuardedRequest:
    """One request with redirects off, transport failures classified as transient."""

    def __init__(self, session: aiohttp.ClientSession, method: str, url: URL) -> None:
        self._session, self._method, self._url = session, method, url
        self._response: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> aiohttp.ClientResponse:
        try:
            self._response = await self._session.request(self._method, self._url, allow_redirects=False)
        except PlatformError:
            raise
        except TRANSPORT_ERRORS as exc:
            raise transient_from_exception(exc, platform="http") from exc
        return self._response

    async def __aexit__(self, *exc_info: object) -> None:
        if self._response is not None:
            self._response.release()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _family_of(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET
