"""Admin panel: moderation, payouts, review of held earnings, users, broadcast, status, quarantine,
campaigns -- refused to everyone else."""

from __future__ import annotations

from aiogram import Router


def build_admin_router() -> Router:
    """The admin routers behind an `IsAdmin` root filter, then the refusal for non-admins.

    A root filter on the parent router makes aiogram skip every admin sub-router for a
    non-admin; the refusal router then answers their admin commands and buttons.
    Handlers that act also check ``is_admin`` themselves (defence in depth).
    """
    from zenith.bot.handlers import detached
    from zenith.bot.handlers.admin import (
        broadcast,
        campaign_funding,
        campaign_setup,
        campaign_stale,
        campaigns,
        moderation,
        panel,
        payouts,
        quarantine,
        refusal,
        review,
        status,
        users,
    )
    from zenith.bot.handlers.admin.filters import IsAdmin

    admin = Router(name=__name__)
    admin.message.filter(IsAdmin())
    admin.callback_query.filter(IsAdmin())
    for module in (
        panel,
        moderation,
        payouts,
        review,
        users,
        broadcast,
        status,
        quarantine,
        campaigns,
        campaign_setup,
        campaign_funding,
        campaign_stale,  # last: the campaign presses no dialogue took
    ):
        admin.include_router(detached(module.router))
    outer = Router(name=f"{__name__}.outer")
    outer.include_routers(admin, detached(refusal.router))
    return outer
