"""Each service's named retry policy against its protocol-level fake: a transient failure is
retried and the call succeeds, the budget ends in a classified error, a permanent error is
never retried, a Retry-After is waited (and one over the policy's cap is raised at once)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from tests.fakes.instagram import run_fake_instagram
from tests.fakes.tiktok import run_fake_tiktok
from tests.fast_retries import fast
from zenith.platforms import retrying
from zenith.platforms.cryptopay import CryptoPayClient
from zenith.platforms.errors import Failure, classify
from zenith.platforms.instagram import InstagramAdapter
from zenith.platforms.retrying import RetryPolicy
from zenith.platforms.safe_http import SafeHttpClient
from zenith.platforms.telegram import RetryRequestMiddleware
from zenith.platforms.tiktok import TikTokAdapter
from zenith.platforms.youtube import YouTubeAdapter
from zenith.sandbox.runner import start_sandbox

CHANNEL_ID = "UC" + "a" * 22
TELEGRAM_USER = 5_550_001


@dataclass
class Service:
    """One service behind its fake: how to make it fail, call it, and count what it saw.

    ``per_attempt`` is the requests one failed attempt makes (a short link asks HEAD, then GET).
    """

    policy: RetryPolicy
    call: Callable[[RetryPolicy], Awaitable[Any]]
    fail_transient: Callable[[int], None]
    fail_permanent: Callable[[], None]
    flood: Callable[[], None]  # one 429 with Retry-After: 1
    pending: Callable[[], int]  # scripted failures not consumed yet
    requests: Callable[[], int]
    per_attempt: int = 1


@contextlib.asynccontextmanager
async def youtube_service() -> AsyncIterator[Service]:
    from tests.fakes.youtube import run_fake_youtube

    with run_fake_youtube() as server:
        state = server.state
        state.add_channel(CHANNEL_ID, handle="creator")
        state.retry_after = 1
        adapters: list[YouTubeAdapter] = []

        async def call(policy: RetryPolicy) -> Any:
            adapter = YouTubeAdapter(api_key=state.api_key, base_url=server.url + "/youtube/v3", retry=policy)
            adapters.append(adapter)
            return await adapter.fetch_account(CHANNEL_ID)

        yield Service(
            policy=retrying.YOUTUBE,
            call=call,
            fail_transient=lambda times: state.fail_next("500", times=times),
            fail_permanent=lambda: state.fail_next("key_invalid"),
            flood=lambda: state.fail_next("429"),
            pending=lambda: len(state.failures),
            requests=lambda: len(state.calls),
        )
        for adapter in adapters:
            await adapter.close()


def _page_service(run_fake, adapter_class, policy: RetryPolicy, add_user) -> Callable[[], Any]:
    @contextlib.asynccontextmanager
    async def service() -> AsyncIterator[Service]:
        with run_fake() as server:
            state = server.state
            add_user(state)
            adapters: list[Any] = []

            async def call(policy: RetryPolicy) -> Any:
                adapter = adapter_class(base_url=server.url, retry=policy)
                adapters.append(adapter)
                return await adapter.fetch_account("creator")

            yield Service(
                policy=policy,
                call=call,
                fail_transient=lambda times: state.fail_next(503, times=times),
                fail_permanent=lambda: state.fail_next(404),
                flood=lambda: state.fail_next(429, retry_after=1),
                pending=lambda: len(state.failures),
                requests=lambda: len(state.calls),
            )
            for adapter in adapters:
                await adapter.close()

    return service


tiktok_service = _page_service(run_fake_tiktok, TikTokAdapter, retrying.TIKTOK, lambda s: s.add_user("creator"))
instagram_service = _page_service(
    run_fake_instagram, InstagramAdapter, retrying.INSTAGRAM, lambda s: s.add_user("creator")
)


@contextlib.asynccontextmanager
async def cryptopay_service() -> AsyncIterator[Service]:
    from tests.fakes.cryptopay import run_fake_cryptopay

    with run_fake_cryptopay() as server:
        state = server.state
        clients: list[CryptoPayClient] = []

        async def call(policy: RetryPolicy) -> Any:
            client = CryptoPayClient(token=state.token, base_url=server.url + "/api", retry=policy)
            clients.append(client)
            return await client.get_balance()

        yield Service(
            policy=retrying.CRYPTO_PAY,
            call=call,
            fail_transient=lambda times: state.fail_next("500", times=times),
            fail_permanent=lambda: state.fail_next("COUNT_INVALID"),
            flood=lambda: state.fail_next("429"),
            pending=lambda: len(state.failures),
            requests=lambda: len(state.calls),
        )
        for client in clients:
            await client.close()


@contextlib.asynccontextmanager
async def short_link_service() -> AsyncIterator[Service]:
    with run_fake_tiktok() as server:
        state = server.state
        state.add_video("7311111111111111111", author="creator")
        state.add_short_link("ZMretry", "7311111111111111111")
        host_map = {host: f"127.0.0.1:{server.port}" for host in ("vm.tiktok.com", "www.tiktok.com")}

        async def call(policy: RetryPolicy) -> Any:
            options: dict[str, Any] = {"allow_http": True, "allow_private_network": True}
            async with SafeHttpClient(host_map=host_map, retry=policy, **options) as client:
                return await client.resolve_short_link("http://vm.tiktok.com/ZMretry/")

        yield Service(
            policy=retrying.SHORT_LINKS,
            call=call,
            # HEAD fails, then GET fails: one failed attempt of the chain
            fail_transient=lambda times: state.fail_next(503, times=2 * times),
            fail_permanent=lambda: state.fail_next(404, times=2),
            flood=lambda: state.fail_next(429, times=2, retry_after=1),
            pending=lambda: len(state.failures),
            requests=lambda: len(state.calls),
            per_attempt=2,
        )


@contextlib.asynccontextmanager
async def telegram_service() -> AsyncIterator[Service]:
    async with start_sandbox() as sandbox:
        state = sandbox.state
        state.add_user(TELEGRAM_USER, first_name="R")
        bots: list[Bot] = []
        target = {"chat": TELEGRAM_USER}

        async def call(policy: RetryPolicy) -> Any:
            bot = Bot(token=sandbox.token, session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox.url)))
            bot.session.middleware(RetryRequestMiddleware(policy))
            bots.append(bot)
            return await bot.send_message(target["chat"], "hello")

        def unknown_chat() -> None:
            target["chat"] = 999_999_999_999  # "chat not found": a bad request

        yield Service(
            policy=retrying.TELEGRAM,
            call=call,
            fail_transient=lambda times: state.faults.fail_next("sendMessage", kind="500", times=times),
            fail_permanent=unknown_chat,
            flood=lambda: state.faults.fail_next("sendMessage", kind="429", retry_after=1),
            pending=state.faults.pending,
            requests=lambda: sum(1 for method in state.calls if method.lower() == "sendmessage"),
        )
        for bot in bots:
            await bot.session.close()


SERVICES = {
    "youtube": youtube_service,
    "tiktok": tiktok_service,
    "instagram": instagram_service,
    "cryptopay": cryptopay_service,
    "short_links": short_link_service,
    "telegram": telegram_service,
}


@pytest.fixture(params=sorted(SERVICES))
async def service(request):
    async with SERVICES[request.param]() as service:
        yield service


async def test_a_transient_failure_is_retried_and_the_call_succeeds(service):
    service.fail_transient(service.policy.attempts - 1)
    assert await service.call(fast(service.policy)) is not None
    assert service.pending() == 0
    assert service.requests() == service.policy.attempts * service.per_attempt


async def test_the_budget_ends_in_a_classified_transient_error(service):
    service.fail_transient(service.policy.attempts + 1)
    with pytest.raises(Exception) as caught:
        await service.call(fast(service.policy))
    assert classify(caught.value) is Failure.TRANSIENT
    # exactly the policy's attempts were made: one scripted failure is left over
    assert service.requests() == service.policy.attempts * service.per_attempt
    assert service.pending() == service.per_attempt


async def test_a_permanent_error_is_never_retried(service):
    service.fail_permanent()
    with pytest.raises(Exception) as caught:
        await service.call(fast(service.policy))
    assert classify(caught.value) is Failure.PERMANENT
    assert service.requests() == service.per_attempt


async def test_retry_after_is_waited_and_one_over_the_cap_is_raised_at_once(service):
    service.flood()  # Retry-After: 1, while the fast policy backs off for 10 ms
    started = time.monotonic()
    assert await service.call(fast(service.policy, max_retry_after=5.0)) is not None
    assert time.monotonic() - started >= 1.0
    service.flood()
    before = service.requests()
    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        await service.call(fast(service.policy, max_retry_after=0.5))
    assert classify(caught.value) is Failure.TRANSIENT and time.monotonic() - started < 1.0
    assert service.requests() - before == service.per_attempt


def test_every_outside_service_has_its_own_named_policy():
    policies = [retrying.YOUTUBE, retrying.TIKTOK, retrying.INSTAGRAM, retrying.CRYPTO_PAY]
    policies += [retrying.SHORT_LINKS, retrying.TELEGRAM]
    assert len({policy.service for policy in policies}) == len(policies)
    for policy in policies:
        assert policy.attempts >= 2 and 0 < policy.initial_wait <= policy.max_wait
        assert 0 < policy.max_retry_after <= 60
