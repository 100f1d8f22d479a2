"""The care rules' words (omni/care_words.py): durations in minutes and the CSAT answer; the
care settings a history carries."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from omni.care_words import about_minutes, csat_score, minutes_text
from omni.service_care import ServiceCare
from workflows.contracts import ServiceSnapshot


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", (5, None)),
        (" 4 ", (4, None)),
        ("5 - muito atenciosa", (5, "muito atenciosa")),
        ("3, demorou", (3, "demorou")),
        ("2) ok", (2, "ok")),
        ("5.", (5, None)),
        ("1 ruim", (1, "ruim")),
        ("10", None),  # a 0–10 answer is asked again, not read as 1 with comment "0"
        ("0", None),
        ("6", None),
        ("4.5", None),
        ("4,5", None),
        ("2024 foi bom", None),
        ("talvez", None),
        ("", None),
    ],
)
def test_csat_score(text: str, expected: tuple[int, str | None] | None) -> None:
    assert csat_score(text) == expected


@pytest.mark.parametrize(
    ("seconds", "words", "about"),
    [
        (0, "menos de 1 minuto", "menos de 1 minuto"),
        (30, "menos de 1 minuto", "menos de 1 minuto"),
        (59, "menos de 1 minuto", "menos de 1 minuto"),
        (60, "1 minuto", "cerca de 1 minuto"),
        (89, "1 minuto", "cerca de 1 minuto"),
        (90, "2 minutos", "cerca de 2 minutos"),
        (120, "2 minutos", "cerca de 2 minutos"),
        (150, "3 minutos", "cerca de 3 minutos"),  # half up, not round()'s half to even
        (3600, "60 minutos", "cerca de 60 minutos"),
    ],
)
def test_minutes(seconds: int, words: str, about: str) -> None:
    assert minutes_text(seconds) == words
    assert about_minutes(seconds) == about


def test_care_carried_in_histories_ignores_fields_it_no_longer_knows() -> None:
    snapshot = ServiceSnapshot.model_validate(
        {
            "service_id": "s",
            "service_name": "Suporte",
            "abandon_seconds": 60,
            "care": {"csat": True, "a_setting_removed_later": 3},
        }
    )
    assert snapshot.care.csat is True
    with pytest.raises(ValidationError):  # the API still refuses unknown settings
        ServiceCare.model_validate({"a_setting_removed_later": 3})
