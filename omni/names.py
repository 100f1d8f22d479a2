"""When two names an admin gave are the same name: the normal form their uniqueness is checked in.

Names of services and agents are typed by people (admins, bot designers writing a flow's
`service:`) on phones and keyboards where accents and capitals come and go: "Cobrança",
"cobranca" and "COBRANÇA " are one queue to everyone in a Brazilian contact center, and two
services differing only so would be picked at random from a list. So the key folds case
(`casefold`), accents and other combining marks (NFKD, marks dropped: "ç" is "c", "ã" is "a"),
compatibility forms (full-width letters, ligatures) and runs of white space. Words that differ
only by an accent ("avó"/"avô") are not two queues anyone would want; refusing that rare pair
costs less than letting the common near-duplicates in. Names are still stored as typed (in NFC,
`canonical`), and lookups by name stay exact: the key only decides what may not coexist.
"""

from __future__ import annotations

import unicodedata


def canonical(name: str) -> str:
    """The name as stored: trimmed, in Unicode NFC (a "ç" pasted in NFD is stored as any other)."""
    return unicodedata.normalize("NFC", name.strip())


def name_key(name: str) -> str:
    """The form two names collide in: case, accents, compatibility forms and spacing folded."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())
