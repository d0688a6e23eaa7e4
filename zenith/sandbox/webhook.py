"""Delivering updates to a webhook set with setWebhook, as Telegram does.

Updates go out one at a time, in order, as a JSON POST with the
``X-Telegram-Bot-Api-Secret-Token`` header when a secret was set. A 2xx answer confirms
the update; anything else (or no answer) is recorded for getWebhookInfo and retried after
``retry_delay``. A reply body holding a method call (aiogram answers with multipart
form-data carrying a "method" field) is executed, and its result ignored, like Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import ClientError, ClientSession, ClientTimeout

from zenith.sandbox.errors import ApiError
from zenith.sandbox.methods import execute
from zenith.sandbox.params import Params, read_multipart
from zenith.sandbox.state import SandboxState

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def deliver_webhook_updates(state: SandboxState, *, retry_delay: float = 0.5, timeout: float = 10.0) -> None:
    """Run until ``state.updates.closing``; meant to be a background task of the server.

    Parameters:
      retry_delay: seconds before retrying a failed delivery (default 0.5).
      timeout: seconds to wait for the webhook's answer (default 10).
    """
    queue = state.updates
    async with ClientSession(timeout=ClientTimeout(total=timeout)) as session:
        while not queue.closing:
            hook = queue.webhook
            if hook is None or not queue.pending:
                await queue.wait(1.0)
                continue
            update = queue.pending[0]
            headers = {SECRET_HEADER: hook.secret_token} if hook.secret_token else {}
            try:
                async with session.post(hook.url, json=update, headers=headers) as resp:
                    if 200 <= resp.status < 300:
                        queue.confirm_below(update["update_id"] + 1)
                        hook.delivered += 1
                        await _run_reply(state, resp)
                        continue
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except (ClientError, asyncio.TimeoutError, OSError) as exc:
                error = f"Connection failed: {type(exc).__name__}"
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            await queue.wait(retry_delay)


async def _run_reply(state: SandboxState, resp) -> None:
    params: Params | None = None
    if resp.content_type == "multipart/form-data":
        params = await read_multipart(resp.headers, resp.content)
    elif resp.content_type == "application/json":
        body = await resp.json()
        if isinstance(body, dict) and body.get("method"):
            params = Params(values=dict(body))
    if params is None or not params.values.get("method"):
        return
    name = str(params.values.pop("method"))
    state.calls.append(f"webhook-reply:{name}")
    try:
        await execute(state, name, params)
    except ApiError as exc:
        log.info("method %s from a webhook reply failed: %s", name, exc.description)
