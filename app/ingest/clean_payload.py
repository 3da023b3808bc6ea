"""Whether an event's raw payload certainly holds nothing the data scrubbing filters (app/ingest/scrubbing.py).

Most events hold nothing to filter; for them the fields, which are made from the raw payload, hold
nothing either, and the scrubbing walk is spared. Two tests answer the question, both conservative (a
payload they call clean gives the same result as the walk; one they do not is walked):

- :func:`tree_is_clean`, on the tree the ingest view parsed the payload into: every key and every
  assigned name (``name=value``) looked up for the rules' words, and the payload's digits for a card
  number;
- :func:`text_is_clean`, on the text alone (a payload stored without its tree: the security reports, the
  demo's events).
"""
from __future__ import annotations

import re

from app.ingest.incoming import MAX_NESTING

MIN_CARD = 13
# For a quick test of long text: its digits as "d", anything else but the separators (deleted) as "x". A
# card number becomes a run of at least 13 "d"; text without one holds no card number.
_DIGIT_CLASSES = bytes(ord("d") if 48 <= i <= 57 else ord("x") for i in range(256))
_CARD_RUN = b"d" * MIN_CARD
_KEY_CACHE_SIZE = 4096


def normalise_key(key: str) -> str:
    """A key as the rules compare it: lower case, ``-`` and spaces as ``_``."""
    return key.lower().replace("-", "_").replace(" ", "_")


def may_hold_card(text: str) -> bool:
    """False when ``text`` certainly holds no card number (a translation and a substring search, in C:
    much cheaper than the expression on long text)."""
    return len(text) >= MIN_CARD and _CARD_RUN in text.encode("utf-8", "ignore").translate(_DIGIT_CLASSES, b" -")


def has_word(words: tuple[str, ...], text: str) -> bool:
    normal = normalise_key(text)
    return any(word in normal for word in words)


_ASSIGNED = re.compile(r"[A-Za-z0-9_.\-\[\]]*=")


def tree_is_clean(words: tuple[str, ...], enabled: bool, plain: set, tree, text: str) -> bool:
    """Whether a whole raw payload, ``text`` parsed as ``tree``, certainly holds nothing to filter: no key
    (an object's, or the first string of a list: a ``[key, value]`` pair) and no assigned name
    (``name=value`` in a string) holds one of the rules' ``words``, nothing nests as deep as the walk
    cuts, and, with scrubbing on, no card number can be anywhere. ``plain`` keeps the names found to hold
    no word (the same few hundred come with every event), so a dict whose keys are all known costs one
    set comparison.

    JSON writes digits as they are, except in a ``\\u`` escape: without one, card numbers are looked for
    in the text, in one pass; with one, in each string and key."""
    escaped = "\\u" in text
    if escaped and "\\u0000" in text:  # the normalisers drop NUL: what is left could join into a word or a number
        return False
    if enabled and may_hold_card(text):
        return False
    if enabled and not escaped and "=" in text and not _plain_names(words, plain, assigned_names(text)):
        return False
    escaped = enabled and escaped
    return _clean_node(words, escaped, plain, tree, 0)


def _clean_node(words, escaped: bool, plain: set, node, depth: int) -> bool:
    if type(node) is dict:
        if not plain.issuperset(node) and not _plain_names(words, plain, node):
            return False
        if escaped and any(may_hold_card(key) for key in node):
            return False
        values = node.values()
    else:
        if len(node) >= 2 and type(node[0]) is str and node[0] not in plain \
                and not _plain_names(words, plain, (node[0],)):
            return False
        values = node
    for value in values:
        kind = type(value)
        if kind is dict or kind is list:
            if depth >= MAX_NESTING or not _clean_node(words, escaped, plain, value, depth + 1):
                return False  # (the walk filters what nests this deep)
        elif escaped and kind is str and (("=" in value and not _plain_names(words, plain, assigned_names(value)))
                                          or may_hold_card(value)):
            return False
    return True


_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-[]"
_MAX_NAME = 200  # the expression that filters assignments takes names of up to 100 characters


def assigned_names(text: str):
    """The names assigned in ``text`` (``a=1&access_token=x`` gives ``a`` and ``access_token``): the run
    of name characters before each ``=`` (up to ``_MAX_NAME`` of them; an expression that finds them
    retries at every character of every run, a hundred times slower on 4 KB)."""
    index = text.find("=")
    while index >= 0:
        before = text[max(0, index - _MAX_NAME):index]
        name = before[len(before.rstrip(_NAME_CHARS)):]
        if name:
            yield name
        index = text.find("=", index + 1)


def _plain_names(words: tuple[str, ...], plain: set, names) -> bool:
    """Whether none of ``names`` holds one of ``words``; the plain ones join ``plain``."""
    for name in names:
        if name in plain:
            continue
        if has_word(words, name):
            return False
        if len(plain) < _KEY_CACHE_SIZE and len(name) <= _MAX_NAME:
            plain.add(name)
    return True


_BLANK = " _\t\r\n"  # in normalised text, a space is "_"


def text_is_clean(words: tuple[str, ...], enabled: bool, text: str) -> bool:
    """Whether JSON text certainly holds nothing to filter: none of the rules' words is in a key (an
    object's, a ``[key, value]`` pair's or an assignment's) and no card number is anywhere. Substring
    searches, in C. A ``\\u`` escape can spell a word or a digit the searches do not see: such text is
    not taken for clean."""
    if "\\u" in text:
        return False
    normal = normalise_key(text)
    for word in words:
        index = normal.find(word)
        while index >= 0:
            if _in_a_key(normal, index, text):
                return False
            index = normal.find(word, index + len(word))
    return not enabled or not may_hold_card(text)


def _in_a_key(text: str, index: int, original: str) -> bool:
    """Whether the word at ``index`` of normalised JSON text may be part of a key: its string is followed
    by ``:`` (an object's key) or opens a ``[key, value]`` pair, or the word's name is assigned (``=``)."""
    close = text.find('"', index)
    if close < 0 or _ASSIGNED.match(original, index) is not None:  # (spaces are "_" in ``text``)
        return True
    after = close + 1
    while after < len(text) and text[after] in _BLANK:
        after += 1
    if after >= len(text) or text[after] == ":":
        return True
    if text[after] != ",":
        return False
    opening = text.rfind('"', 0, index)
    before = opening - 1
    while before >= 0 and text[before] in _BLANK:
        before -= 1
    return before >= 0 and text[before] == "["
