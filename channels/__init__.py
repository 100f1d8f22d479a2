"""Channels where customers are (WhatsApp Cloud API, Telegram Bot API): pure payload models,
signature checks and rendering of our messages. No HTTP, no SQL: callers do the I/O."""
