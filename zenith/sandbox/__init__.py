"""A local Telegram Bot API server for development and tests.

``zenith sandbox`` serves it; ``start_sandbox()`` (zenith.sandbox.runner) runs it inside
a test. This package's top level only holds constants, so importing it is cheap.
"""

# A well-formed token (aiogram checks the "<digits>:<text>" shape). The bot uses it when
# TELEGRAM_BOT_TOKEN is empty; the sandbox answers only to the token it was started with.
SANDBOX_TOKEN = "7000000001:AAsandbox-local-token-not-for-telegram"
