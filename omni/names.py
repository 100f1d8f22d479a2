"""When two names an admin gave are the same name: the normal form their uniqueness is checked in.

Names of services and agents are typed by people (admins, bot designers writing a flow's
`service:`) on phones and keyboards where accents and capitals come and go: "Cobrança",
"cobranca" and "COBRANÇA " are one queue to everyone in a Brazilian contact center, and two
services differing only so would be picked at random from a list. So the key folds case
(`casefold`), accents and every other mark (NFKD, every category M* dropped: "ç" is "c", "ã" is
"a", a variation selector is nothing), invisible format characters (category Cf: a zero-width
space pasted along is nothing), compatibility forms (full-width letters, ligatures) and runs of
white space. Words that differ only by an accent ("avó"/"avô") are not two queues anyone would
want; refusing that rare pair costs less than letting the common near-duplicates in. Names are
still stored as typed (in NFC, `canonical`): the key only decides what may not coexist. A new
name may not hold control or format characters (`unusable`), nor be made of marks alone.
"""

from __future__ import annotations

import unicodedata

INVISIBLE_CATEGORIES = ("Cc", "Cf")
"""Control and format characters: nobody reads them, so a name may not hold them."""


def canonical(name: str) -> str:
    """The name as stored: trimmed, in Unicode NFC (a "ç" pasted in NFD is stored as any other)."""
    return unicodedata.normalize("NFC", name.strip())


def name_key(name: str) -> str:
    """The form two names collide in: case, marks, format characters, compatibility forms and
    spacing folded. It may be longer than the name ("…" is "...", "ß" is "ss")."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(char for char in decomposed if not _folded_away(char))
    return " ".join(bare.casefold().split())


def _folded_away(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] == "M" or category == "Cf"


def unusable(name: str) -> str | None:
    """Why `name` may not be given to a service or agent (None: it may): it holds a control or
    format character (U+200B, a tab), or nothing of it is left in its key (marks alone)."""
    for char in name:
        if unicodedata.category(char) in INVISIBLE_CATEGORIES:
            return f"may not contain the invisible character U+{ord(char):04X}"
    if not name_key(name):
        return "must contain a letter, digit or symbol (not only marks)"
    return None
