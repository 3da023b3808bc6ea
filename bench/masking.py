"""Masking a message for its fingerprint (app/ingest/fingerprint.py mask_message), per call.

Compares the seven substitutions Heartwatch runs, one after the other, with two single-pass versions:
``combined``, one pattern with the seven as named alternatives (the obvious rewrite: it gives other
results on messages where one kind of value touches another, so fingerprints would change), and
``one_pass``, a scan that gives the same results (checked here on every message measured and on
``--check`` seeded random messages). Figures: docs/PERFORMANCE.md. Runs in a few seconds:

    .venv/bin/python bench/masking.py [--check 10000] [--number 20000]
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import timeit
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.ingest.fingerprint import MASK_LIMIT, mask_message  # noqa: E402

MESSAGES = [
    "division by zero",
    "user 42 not found",
    "no row 3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "request 4711 to 10.0.0.5 timed out after 30.5 s",
    "Duplicate entry 'ana@example.com' for key 'users_email_unique'",
    'column "price" of relation "order_items" violates not-null constraint',
    "Call to undefined method App\\Models\\Order::total() in /var/www/app/Http/Controllers/CartController.php",
    "segfault at 0x7ffd5e8c ip 00007f3a2b1c4d5e sp 00007ffd5e8c1234 error 4 in libc.so.6",
]

# --- the obvious single pattern ----------------------------------------------------------------

_H = "[0-9a-fA-F]"
_COMBINED = re.compile("|".join([
    rf"(?P<uuid>{_H}{{8}}-{_H}{{4}}-{_H}{{4}}-{_H}{{4}}-{_H}{{12}})",
    r"(?P<email>[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8})",
    rf"(?P<hex>\b0x{_H}+\b|\b{_H}{{12,}}\b)",
    r"(?P<single>'[^'\n]{0,200}')",
    r"(?P<double>\"[^\"\n]{0,200}\")",
    r"(?P<number>\d+(?:\.\d+)?)",
]))
_COMBINED_BY = {"uuid": "<uuid>", "email": "<email>", "hex": "<hex>", "single": "'<value>'",
                "double": '"<value>"', "number": "<n>"}


def combined(message: str) -> str:
    return _COMBINED.sub(lambda m: _COMBINED_BY[m.lastgroup], (message or "")[:MASK_LIMIT]).strip()


# --- one scan with the same results ------------------------------------------------------------

QUOTED_MAX = 200  # characters between two quotes, counted as the tokens inside leave them

# One scan gives what seven substitutions, one after the other, used to give (UUIDs, e-mails, 0x hex,
# long hex, single- then double-quoted values, numbers): grouped messages must keep their fingerprints.
# Where an earlier substitution left a token ("<uuid>") that a later one then saw, the scan reproduces
# it: nothing later in that order takes the first character of a UUID (_NOT_UUID); an e-mail is sought
# from the start of its run of address characters ("pre": what precedes it in a run longer than a local
# part); what follows a UUID or an e-mail ("tail") is scanned as if a token stood before it; and quoted
# values are paired after the scan, single quotes first, on the lengths the tokens inside leave.
_HEX = "[0-9a-fA-F]"
_UUID = rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
_NOT_UUID = f"(?!{_UUID})"
_LOCAL = f"(?:{_NOT_UUID}[A-Za-z0-9._%+-])"
_LABEL = f"(?:{_NOT_UUID}[A-Za-z0-9-])"
_ADDRESS = rf"{_LOCAL}{{1,64}}@{_LABEL}{{1,63}}(?:\.{_LABEL}{{1,63}}){{1,8}}"
_EMAIL = rf"(?=[A-Za-z0-9._%+-]*@)(?P<pre>{_LOCAL}*?)(?P<email>{_ADDRESS})(?P<etail>[\w.%+@-]*)"
_NOT_EMAIL = rf"(?!(?=[A-Za-z0-9._%+-]{{0,64}}@){_ADDRESS})"
_HEX_BODY = rf"(?:0x(?:{_NOT_UUID}{_HEX})+|(?:{_NOT_UUID}{_HEX}){{12,}})(?:\b|(?={_UUID}))"
_SCAN = re.compile("|".join([
    rf"(?P<uuid>{_UUID})(?P<tail>[\w.%+@-]*)",
    rf"(?<![A-Za-z0-9._%+-]){_EMAIL}",
    rf"(?P<hex>\b{_HEX_BODY})",
    rf"(?P<number>(?:(?=\d){_NOT_UUID}{_NOT_EMAIL}\d)+(?:\.{_NOT_EMAIL}(?!{_HEX_BODY})(?=\d)(?:(?=\d){_NOT_UUID}{_NOT_EMAIL}\d)+)?)",
    r"(?P<quote>['\"\n])",
]))
_AFTER_TOKEN = re.compile(rf"{_EMAIL}|(?P<hex>{_HEX_BODY})")
_RUN_EMAIL = re.compile(_EMAIL)
_ADDRESS_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")


def one_pass(message: str) -> str:
    """``mask_message`` in one scan of the message (tokens, numbers, quotes), then the quote pairing."""
    text = (message or "")[:MASK_LIMIT]
    events: list[tuple[int, int, str, str]] = []  # (start, end, kind, text or replacement), in order
    _scan(text, 0, len(text), False, events)
    if not events:
        return text.strip()
    spans = _quoted_values(events)
    out, at, index = [], 0, 0
    while index < len(events):
        start, end, kind, replacement = events[index]
        if index in spans:
            index = spans[index]
            end = events[index][1]
            replacement = f"{replacement}<value>{replacement}"
        elif kind == "number":
            replacement = "<n>"
        elif kind == "quote":
            index += 1
            continue
        out.append(text[at:start])
        out.append(replacement)
        at = end
        index += 1
    out.append(text[at:])
    return "".join(out).strip()


def _scan(text: str, start: int, end: int, after_token: bool, events: list) -> None:
    if after_token:
        match = _AFTER_TOKEN.match(text, start, end)
        if match is not None:
            start = _add(text, match, True, events)
    while (match := _SCAN.search(text, start, end)) is not None:
        start = _add(text, match, False, events)


def _add(text: str, match: re.Match, after_token: bool, events: list) -> int:
    kind = match.lastgroup
    if kind == "tail":
        events.append((match.start("uuid"), match.end("uuid"), "token", "<uuid>"))
        if match.start("tail") < match.end("tail"):
            _scan(text, match.start("tail"), match.end("tail"), True, events)
    elif kind == "etail":
        if match.start("pre") < match.end("pre"):
            _scan(text, match.start("pre"), match.end("pre"), after_token, events)
        events.append((match.start("email"), match.end("email"), "token", "<email>"))
        if match.start("etail") < match.end("etail"):
            _scan(text, match.start("etail"), match.end("etail"), True, events)
    elif kind == "hex":
        events.append((match.start(), match.end(), "token", "<hex>"))
    elif kind == "number":
        events.append((match.start(), match.end(), kind, match.group()))
        return _after_number(text, match, events)
    else:
        events.append((match.start(), match.end(), kind, match.group()))
    return match.end()


def _after_number(text: str, match: re.Match, events: list) -> int:
    """Where a number runs from digits such as "٣" into ASCII ones, a run of address characters starts
    inside it: an e-mail later in that run is sought from there, as from any run's start."""
    number = match.group()
    for index in range(1, len(number) + 1):
        at = match.start() + index
        if number[index - 1] > "\x7f" and at < len(text) and text[at] in _ADDRESS_CHARACTERS:
            email = _RUN_EMAIL.match(text, at)
            if email is not None:
                # The number ends where it would with the e-mail already masked (hex may end there).
                events.pop()
                match = _SCAN.match(text, match.start(), email.start("email"))
                events.append((match.start(), match.end(), "number", match.group()))
                if match.end() < email.start("email"):
                    _scan(text, match.end(), email.start("email"), False, events)
                events.append((email.start("email"), email.end("email"), "token", "<email>"))
                if email.start("etail") < email.end("etail"):
                    _scan(text, email.start("etail"), email.end("etail"), True, events)
                return email.end()
    return match.end()


def _quoted_values(events: list) -> dict[int, int]:
    """Quoted values as ``'[^'\\n]{0,200}'`` and then ``"[^"\\n]{0,200}"`` would have found them on the
    text with its tokens masked: the index of each opening quote's event -> its closing one's."""
    quotes = [index for index, event in enumerate(events) if event[2] == "quote"]
    if not quotes:
        return {}
    shift, total = [], 0  # how much the tokens before each event changed the length
    for start, end, kind, replacement in events:
        shift.append(total)
        if kind == "token":
            total += len(replacement) - (end - start)

    def length(opening: int, closing: int) -> int:  # between the two, once the tokens are masked
        return events[closing][0] - events[opening][1] + shift[closing] - shift[opening + 1]

    def pair(mark: str, candidates: list[int], values: dict[int, int]) -> dict[int, int]:
        found: dict[int, int] = {}
        marks = [index for index in candidates if events[index][3] in (mark, "\n")]
        position = 0
        while position < len(marks) - 1:
            opening, closing = marks[position], marks[position + 1]
            if events[opening][3] == mark and events[closing][3] == mark:
                inner = length(opening, closing) + sum(
                    9 - 2 - length(o, c) for o, c in values.items() if opening < o < closing)
                if inner <= QUOTED_MAX:
                    found[opening] = closing
                    position += 2
                    continue
            position += 1
        return found

    single = pair("'", quotes, {})
    hidden = {index for opening, closing in single.items() for index in quotes if opening < index < closing}
    double = pair('"', [index for index in quotes if index not in hidden], single)
    return {**single, **double}


# --- measuring ---------------------------------------------------------------------------------

def random_message(rng: random.Random) -> str:
    """Numbers, hex, UUIDs, e-mails, quotes, punctuation and non-ASCII text, often with nothing between."""
    def hexs(n: int) -> str:
        return "".join(rng.choice("0123456789abcdefABCDEF") for _ in range(n))

    pieces = [
        lambda: str(rng.randrange(10 ** rng.randrange(1, 80))),
        lambda: f"{rng.randrange(1000)}.{rng.randrange(1000)}",
        lambda: "0x" + hexs(rng.randrange(0, 20)),
        lambda: hexs(rng.randrange(6, 90)),
        lambda: str(uuid.UUID(int=rng.getrandbits(128))),
        lambda: hexs(8) + "-" + hexs(4) + "-" + hexs(4),
        lambda: rng.choice(["ana", "bob.smith", "x+y", "12", "x" * rng.randrange(60, 70)]) + "@"
        + rng.choice(["example.com", "mail.co.uk", "h", "b." + "c" * rng.randrange(60, 70)]),
        lambda: rng.choice(["'", '"', "\n"]),
        lambda: rng.choice(["'", '"']) + rng.choice(["users_email", "3", "a b", "", "it's", 'say "hi"',
                                                     "x" * rng.randrange(150, 260)]) + rng.choice(["'", '"']),
        lambda: rng.choice(["order", "user", "Key", "für", "ñandú", "日本", "٣٤", "café", "_", "ß"]),
        lambda: rng.choice(list(" ,.;:-_/()[]{}=<>!?#%&*+@\t")),
        lambda: "".join(rng.choice("abcdefxyz0123456789-._@'\"") for _ in range(rng.randrange(1, 20))),
    ]
    return "".join(rng.choice(pieces)() + rng.choice(["", "", " ", " ", "-", "."])
                   for _ in range(rng.randrange(0, 30)))


def per_call(function, message: str, number: int) -> float:
    """Microseconds per call, the best of five runs (the machine is shared)."""
    return min(timeit.repeat(lambda: function(message), number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", type=int, default=10_000, help="seeded random messages compared")
    parser.add_argument("--number", type=int, default=20_000, help="calls per timing run")
    args = parser.parse_args()

    rng = random.Random(20261201)
    randoms = [random_message(rng) for _ in range(args.check)]
    differ = [m for m in MESSAGES + randoms if one_pass(m) != mask_message(m)]
    if differ:
        sys.exit(f"one_pass differs from mask_message on {len(differ)} messages, first: {differ[0]!r}")
    changed = sum(combined(m) != mask_message(m) for m in randoms)
    print(f"one_pass = mask_message on {len(MESSAGES) + len(randoms)} messages; "
          f"combined differs on {changed} of {len(randoms)} random ones\n")

    print(f"{'µs per call':>11}  {'7 passes':>8}  {'combined':>8}  {'one_pass':>8}  message")
    for message in MESSAGES:
        figures = [per_call(f, message, args.number) for f in (mask_message, combined, one_pass)]
        print(f"{'':11}  {figures[0]:8.2f}  {figures[1]:8.2f}  {figures[2]:8.2f}  {message[:60]}")
    sample = randoms[:500]
    figures = []
    for function in (mask_message, combined, one_pass):
        figures.append(min(timeit.repeat(lambda f=function: [f(m) for m in sample], number=5, repeat=3))
                       / (5 * len(sample)) * 1e6)
    print(f"{'':11}  {figures[0]:8.2f}  {figures[1]:8.2f}  {figures[2]:8.2f}  (mean over {len(sample)} random messages)")


if __name__ == "__main__":
    main()
