"""What the care rules say to a customer and read back (pure, table-tested): durations in
minutes, the CSAT question and the reading of its answer (pt-BR for the customer).
"""

from __future__ import annotations

import re

SCORE = re.compile(r"^\s*([1-5])(?![0-9]|[.,][0-9])(?:\s*[-–:.,)]?\s*(.*))?$", re.DOTALL)
"""A survey answer: the score 1–5 not followed by a digit or a decimal part ("10", "4.5",
"2024 foi bom" are not scores), then (optionally) a comment in the same message."""
CSAT_OPTIONS = ["1", "2", "3", "4", "5"]
CSAT_QUESTION = (
    "Como você avalia o atendimento? Escolha uma nota de 1 (ruim) a 5 (ótimo)."
    " Se quiser, envie também um comentário."
)
"""True for a typed answer ("5 muito atenciosa") and for a list/keyboard reply that carries
only the option: a comment may come in the same message or (ignored) not at all."""


def csat_score(text: str) -> tuple[int, str | None] | None:
    """The score and comment of a survey answer; None when it is not one (asked again: a 0–10
    answer such as "10" or "0" is not mapped to 1–5, the customer picks again)."""
    found = SCORE.match(text)
    if found is None:
        return None
    comment = (found.group(2) or "").strip() or None
    return int(found.group(1)), comment


def minutes_text(seconds: int) -> str:
    """A duration as a customer reads it: "menos de 1 minuto", "1 minuto", "N minutos" (whole
    minutes, half up: 90 s → 2, 150 s → 3)."""
    if seconds < 60:
        return "menos de 1 minuto"
    minutes = (seconds + 30) // 60
    return "1 minuto" if minutes == 1 else f"{minutes} minutos"


def about_minutes(seconds: int) -> str:
    """An estimate: "cerca de N minutos", or "menos de 1 minuto" below a minute."""
    words = minutes_text(seconds)
    return words if seconds < 60 else f"cerca de {words}"
