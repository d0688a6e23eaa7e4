"""The Dispatcher: FSM storage in Redis (failing open when Redis is down), middlewares in order, routers, services as data."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import BotCommand

from zenith.bot.filters import run_filters_on_loop
from zenith.bot.fsm_storage import FailOpenStorage, StatePrefetch
from zenith.bot.handlers import build_routers
from zenith.bot.middlewares.dedup import UpdateDedupMiddleware
from zenith.bot.middlewares.menu import MenuResetsStateMiddleware
from zenith.bot.middlewares.private_chat import PrivateChatOnlyMiddleware
from zenith.bot.middlewares.throttling import ThrottlingMiddleware
from zenith.bot.middlewares.tracing import UpdateSpanMiddleware
from zenith.bot.middlewares.user import UserMiddleware
from zenith.bot.routing import skip_routers_that_cannot_match
from zenith.bot.services import BotServices
from zenith.i18n import SUPPORTED_LANGUAGES, get_translator
from zenith.platforms.telegram import with_retries

logger = logging.getLogger(__name__)

# (command, catalogue key of its description)
COMMANDS = (
    ("start", "menu.shown"),
    ("videos", "menu.videos"),
    ("campaigns", "menu.campaigns"),
    ("balance", "menu.balance"),
    ("withdraw", "menu.withdraw"),
    ("accounts", "menu.accounts"),
    ("tier", "menu.tier"),
    ("language", "menu.language"),
    ("help", "menu.help"),
)


def build_dispatcher(*, services: BotServices, throttle_limit: int = 8, throttle_window_seconds: int = 5) -> Dispatcher:
    """A Dispatcher with every router and middleware; handlers get ``services`` by name.

    Middleware order (outer, per update): aiogram's errors and user context,
    de-duplication by update_id (which reads the dialog state in the same Redis call),
    aiogram's FSM (given that state), then the update span; per message/callback: private chats
    only (groups and channels stop here), throttling (before any database work), the user
    row + translator, and (messages) the menu
    resetting any dialog.

    Parameters:
      services: connections and settings shared by all handlers.
      throttle_limit / throttle_window_seconds: per-user rate limit (default 8 per 5 s);
        a limit of 0 leaves the throttle out (BOT_THROTTLE_LIMIT=0).
    """
    prefix = services.redis_prefix
    key_builder = DefaultKeyBuilder(prefix=f"{prefix}:fsm", with_bot_id=True)
    storage = FailOpenStorage(RedisStorage(redis=services.redis, key_builder=key_builder))
    # the FSM middleware is added below, after the de-duplication that reads its state
    dp = Dispatcher(storage=storage, disable_fsm=True, services=services, settings=services.settings)
    prefetch = StatePrefetch(fsm=dp.fsm, key_builder=key_builder)
    dp.update.outer_middleware(UpdateDedupMiddleware(redis=services.redis, prefix=prefix, prefetch=prefetch))
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(UpdateSpanMiddleware(settings=services.settings))
    throttling = (
        None
        if throttle_limit == 0
        else ThrottlingMiddleware(
            redis=services.redis,
            prefix=prefix,
            limit=throttle_limit,
            window_seconds=throttle_window_seconds,
            default_language=services.settings.default_language,
        )
    )
    private_only = PrivateChatOnlyMiddleware(
        redis=services.redis, prefix=prefix, default_language=services.settings.default_language
    )
    user = UserMiddleware(services=services)
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(private_only)
        if throttling is not None:
            observer.outer_middleware(throttling)
        observer.outer_middleware(user)
    dp.message.outer_middleware(MenuResetsStateMiddleware())
    dp.include_routers(*build_routers())
    run_filters_on_loop(dp)  # aiogram would run each synchronous filter in a thread, per update
    skip_routers_that_cannot_match(dp)  # a message is offered only to routers that could take it
    return dp


def prepare_bot(bot: Bot) -> Bot:
    """Make the bot's outgoing calls survive 429 and network errors (idempotent)."""
    return with_retries(bot)


async def set_commands(bot: Bot) -> None:
    """The command menu in each supported language (Telegram shows the user's one)."""
    for language in SUPPORTED_LANGUAGES:
        i18n = get_translator(language)
        commands = [BotCommand(command=name, description=_plain(i18n(key))) for name, key in COMMANDS]
        await bot.set_my_commands(commands, language_code=language)


async def try_set_commands(bot: Bot) -> None:
    """``set_commands``, best effort: the menu is cosmetic, so start-up never fails on it."""
    try:
        await set_commands(bot)
    except Exception:
        logger.warning("could not set the bot's command menu", exc_info=True)


def _plain(text: str) -> str:
    # command descriptions are plain text without emoji-only prefixes
    return text.split(" ", 1)[1] if " " in text and not text[0].isalnum() else text
