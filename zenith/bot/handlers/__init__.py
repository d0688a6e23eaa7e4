"""Routers of the bot, one per feature; `build_routers()` gives them in matching order."""

from __future__ import annotations

from aiogram import Router


def detached(router: Router) -> Router:
    """`router`, free to be included in a new Dispatcher.

    Feature routers are module-level objects (one per module), and aiogram lets a router
    have one parent for life. A process builds a second Dispatcher when the web process
    restarts its runtime or a test starts another bot; the old Dispatcher is dropped by
    then, so its claim on the router is released here (aiogram has no public call for it).
    """
    router._parent_router = None
    return router


def build_routers() -> list[Router]:
    """Every router, in the order updates should try them (fallback last).

    Imported here, not at module level, so `zenith.bot.handlers` stays cheap to import.
    Routers with FSM-state handlers come before `submit`, whose text handler would
    otherwise take an amount or a handle typed in a dialog for a link.
    """
    from zenith.bot.handlers import accounts, balance, campaigns, errors, fallback, start, submit, videos, withdraw
    from zenith.bot.handlers.admin import build_admin_router

    return [
        detached(errors.router),
        detached(start.router),
        build_admin_router(),
        detached(accounts.router),
        detached(videos.router),
        detached(campaigns.router),
        detached(balance.router),
        detached(withdraw.router),
        detached(submit.router),
        detached(fallback.router),
    ]
