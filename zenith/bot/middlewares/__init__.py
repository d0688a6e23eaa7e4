"""Update middlewares of the bot (order and purpose: docs/bot.md "Middlewares")."""
