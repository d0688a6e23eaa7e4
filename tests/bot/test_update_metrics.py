"""Every update the bot handles is timed in bot_update_seconds, a failed one too."""

from __future__ import annotations

from tests.bot.conftest import new_telegram_id
from zenith.telemetry.metrics import get_metrics


def _count(kind: str) -> float:
    """How many updates of ``kind`` the process's bot_update_seconds has seen so far."""
    samples = [s for m in get_metrics().bot_update_seconds.collect() for s in m.samples]
    return sum(s.value for s in samples if s.name.endswith("_count") and s.labels == {"kind": kind})


async def test_messages_and_button_presses_are_timed(bot, sandbox, monkeypatch):
    messages, presses = _count("message"), _count("callback_query")
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/language", language_code="en")
    menu = await sandbox.state.wait_for_message(uid, contains="Choose your language")
    sandbox.state.user_presses_button(uid, menu.message_id, "lang:en")
    await sandbox.state.wait_for_message(uid, contains="language is English")

    from zenith.storage import creator_stats

    def broken(*args, **kwargs):
        raise RuntimeError("stats exploded")

    monkeypatch.setattr(creator_stats, "stats_from_row", broken)  # inside the /balance read
    sandbox.state.user_sends_text(uid, "/balance")
    await sandbox.state.wait_for_message(uid, contains="went wrong")
    assert _count("message") - messages == 2  # /language and the failed /balance
    assert _count("callback_query") - presses == 1
