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
name may not hold control or format characters (`unusable`), nor be made of marks alone, with
one exception: the zero-width joiner (U+200D) inside an emoji ZWJ sequence (person + ZWJ +
laptop is one "technologist" emoji; man + ZWJ + woman + ZWJ + girl a family), where it joins two
pictographs into one. It is kept in the stored name and folded away in the key like every
format character, so the technologist and "🧑💻" are one name (the key function is the one every
stored key was made with: no stored key changes).

A customer's name (the web chat's "Seu nome", a WhatsApp profile) is not refused but cleaned
(`contact_name`) of the same characters, since a greeting and the agent's tab show it as given.
"""

from __future__ import annotations

import unicodedata

INVISIBLE_CATEGORIES = ("Cc", "Cf")
"""Control and format characters: nobody reads them, so a name may not hold them."""
BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters and symbols that render as nothing (the Hangul fillers, the blank braille pattern):
"Ana" + U+3164 looks like "Ana" on every screen, so a name may not hold them either."""
ZWJ = "\u200d"
"""The zero-width joiner: allowed between two pictographs of an emoji ZWJ sequence."""
EMOJI_MODIFIERS = frozenset("\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff")
"""What may stand between a pictograph and its joiner: the emoji presentation selector and the
five skin tones (person, medium skin tone, ZWJ, laptop)."""
_PICTOGRAPHIC = """
A9 AE 203C 2049 2122 2139 2194-2199 21A9-21AA 231A-231B 2328 23CF 23E9-23F3 23F8-23FA 24C2
25AA-25AB 25B6 25C0 25FB-25FE 2600-2604 260E 2611 2614-2615 2618 261D 2620 2622-2623 2626
262A 262E-262F 2638-263A 2640 2642 2648-2653 265F-2660 2663 2665-2666 2668 267B 267E-267F
2692-2697 2699 269B-269C 26A0-26A1 26A7 26AA-26AB 26B0-26B1 26BD-26BE 26C4-26C5 26C8
26CE-26CF 26D1 26D3-26D4 26E9-26EA 26F0-26F5 26F7-26FA 26FD 2702 2705 2708-270D 270F 2712
2714 2716 271D 2721 2728 2733-2734 2744 2747 274C 274E 2753-2755 2757 2763-2764 2795-2797
27A1 27B0 27BF 2934-2935 2B05-2B07 2B1B-2B1C 2B50 2B55 3030 303D 3297 3299 1F004
1F02C-1F02F 1F094-1F09F 1F0AF-1F0B0 1F0C0 1F0CF-1F0D0 1F0F6-1F0FF 1F170-1F171 1F17E-1F17F
1F18E 1F191-1F19A 1F1AE-1F1E5 1F201-1F20F 1F21A 1F22F 1F232-1F23A 1F23C-1F23F 1F249-1F25F
1F266-1F321 1F324-1F393 1F396-1F397 1F399-1F39B 1F39E-1F3F0 1F3F3-1F3F5 1F3F7-1F3FA
1F400-1F4FD 1F4FF-1F53D 1F549-1F54E 1F550-1F567 1F56F-1F570 1F573-1F57A 1F587 1F58A-1F58D
1F590 1F595-1F596 1F5A4-1F5A5 1F5A8 1F5B1-1F5B2 1F5BC 1F5C2-1F5C4 1F5D1-1F5D3 1F5DC-1F5DE
1F5E1 1F5E3 1F5E8 1F5EF 1F5F3 1F5FA-1F64F 1F680-1F6C5 1F6CB-1F6D2 1F6D5-1F6E5 1F6E9
1F6EB-1F6F0 1F6F3-1F6FF 1F7DA-1F7FF 1F80C-1F80F 1F848-1F84F 1F85A-1F85F 1F888-1F88F
1F8AE-1F8AF 1F8BC-1F8BF 1F8C2-1F8CF 1F8D9-1F8FF 1F90C-1F93A 1F93C-1F945 1F947-1F9FF
1FA58-1FA5F 1FA6E-1FAFF 1FC00-1FFFD
"""
"""Unicode's Extended_Pictographic (emoji-data.txt, Unicode 17): the characters an emoji ZWJ
sequence joins, including the ranges kept for future emoji."""


def _ranges(table: str) -> tuple[tuple[int, int], ...]:
    spans = []
    for item in table.split():
        first, _, last = item.partition("-")
        spans.append((int(first, 16), int(last or first, 16)))
    return tuple(spans)


PICTOGRAPHIC_RANGES = _ranges(_PICTOGRAPHIC)


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


def is_pictographic(char: str) -> bool:
    """Is `char` Extended_Pictographic (an emoji, or a code point kept for one)?"""
    point = ord(char)
    return any(first <= point <= last for first, last in PICTOGRAPHIC_RANGES)


def joins_emoji(name: str, index: int) -> bool:
    """Does the ZWJ at `name[index]` join two pictographs (an emoji ZWJ sequence: a pictograph,
    maybe with its presentation selector or skin tone, the joiner, then a pictograph)?"""
    before = index - 1
    while before >= 0 and name[before] in EMOJI_MODIFIERS:
        before -= 1
    after = index + 1
    return (
        before >= 0
        and after < len(name)
        and is_pictographic(name[before])
        and is_pictographic(name[after])
    )


def unusable(name: str) -> str | None:
    """Why `name` may not be given to a service or agent (None: it may): it holds a control or
    format character (U+200B, a tab; a ZWJ only outside an emoji ZWJ sequence) or one that
    renders blank (`BLANK_LOOKING`), or nothing of
    it is left in its key (marks alone)."""
    for index, char in enumerate(name):
        if char in BLANK_LOOKING:
            return f"may not contain the invisible character U+{ord(char):04X}"
        if unicodedata.category(char) not in INVISIBLE_CATEGORIES:
            continue
        if char == ZWJ and joins_emoji(name, index):
            continue
        outside = " outside an emoji sequence" if char == ZWJ else ""
        return f"may not contain the invisible character U+{ord(char):04X}{outside}"
    if not name_key(name):
        return "must contain a letter, digit or symbol (not only marks)"
    return None


def contact_name(name: str) -> str | None:
    """A customer's name as the flow and the agent's screen get it (None: no name). Nobody
    chose it for us, so it is cleaned, never refused: control and format characters (a zero-width
    space, a right-to-left override or isolate: invisible, or reordering the words around the
    name) and blank-looking ones dropped, white space (a tab, a line break) made single spaces,
    trimmed, NFC. A ZWJ inside an emoji ZWJ sequence stays; marks alone are no name."""
    kept = []
    for index, char in enumerate(name):
        if char.isspace():
            kept.append(" ")
        elif char not in BLANK_LOOKING and _seen(name, index):
            kept.append(char)
    cleaned = canonical(" ".join("".join(kept).split()))
    return cleaned if name_key(cleaned) else None


def _seen(name: str, index: int) -> bool:
    """Is `name[index]` no control or format character (or a ZWJ joining an emoji)?"""
    char = name[index]
    invisible = unicodedata.category(char) in INVISIBLE_CATEGORIES
    return not invisible or (char == ZWJ and joins_emoji(name, index))
