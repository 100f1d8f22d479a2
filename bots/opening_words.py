"""A next opening in the customer's words (pt-BR): "Voltamos amanhã às 08:00." The schedule's
rules and instants are bots/schedule.py's; this is how the Humano block says them."""

from __future__ import annotations

from datetime import datetime

from bots.schedule import Schedule, load_zone, utc

WEEKDAY_NAMES_PT: tuple[str, ...] = (
    "segunda-feira",
    "terça-feira",
    "quarta-feira",
    "quinta-feira",
    "sexta-feira",
    "sábado",
    "domingo",
)

NO_OPENING_PT = "assim que possível"
"""When service opens again with no opening known (emergency closure, nothing open within
SEARCH_DAYS): "Voltamos assim que possível." reads as a sentence, "Voltamos ." did not."""


def describe_opening(schedule: Schedule, opening: datetime | None, now: datetime) -> str:
    """pt-BR text for customers: "hoje às 13:00", "amanhã às 08:00", "segunda-feira às 08:00"
    (within a week), "segunda-feira, 04/01 às 08:00", or NO_OPENING_PT (`opening` None)."""
    if opening is None:
        return NO_OPENING_PT
    zone = load_zone(schedule.timezone)
    local = utc(opening, "opening").astimezone(zone)
    today = utc(now, "now").astimezone(zone).date()
    at = f"às {local:%H:%M}"
    days = (local.date() - today).days
    if days == 0:
        return f"hoje {at}"
    if days == 1:
        return f"amanhã {at}"
    weekday = WEEKDAY_NAMES_PT[local.weekday()]
    if 1 < days < 7:
        return f"{weekday} {at}"
    when = f"{local:%d/%m}" if days > 0 else f"{local:%d/%m/%Y}"
    return f"{weekday}, {when} {at}"
