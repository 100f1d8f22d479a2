"""The connector of each platform."""

from __future__ import annotations

from channels.model import Connector, Platform
from channels.telegram import Telegram
from channels.whatsapp import WhatsApp

CONNECTORS: dict[Platform, Connector] = {"whatsapp": WhatsApp(), "telegram": Telegram()}
