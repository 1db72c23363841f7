"""``python -m bot``: run the Telegram bot (polling, or webhook when TELEGRAM_WEBHOOK_URL is set)."""

from __future__ import annotations

import logging

from bot.app import run
from socrate.config import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per getUpdates poll otherwise
    run(Settings.from_env())


if __name__ == "__main__":
    main()
