"""The Telegram bot: a thin python-telegram-bot v22 adapter over the socrate services."""
