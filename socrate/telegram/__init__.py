"""The Telegram side of the domain: who a chat user is (users), and which chats still owe their user a
final status message (chat_status). The bot in bot/ is the adapter over these."""
