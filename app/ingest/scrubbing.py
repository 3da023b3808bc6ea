"""Data scrubbing: what must not be stored is replaced by ``[Filtered]`` before an event is recorded.

The defaults are Sentry's server-side data scrubber's: a value whose key contains one of
:data:`SENSITIVE_KEYS` (case-insensitive, ``-`` and spaces read as ``_``, so ``X-Api-Key`` and ``apiKey``
match ``api_key`` and ``apikey``), and any credit-card number (a vendor's prefix, 13 to 19 digits with
optional spaces or dashes, Luhn-checked) inside a string, which alone is replaced. Keys are read in
objects, in ``[key, value]`` pairs (headers as Sentry SDKs send them) and in ``key=value`` assignments
inside text (query strings, URLs, cookie strings), whose value alone is replaced. A service's settings (app/ingest/settings.py) add keys, name safe keys that are never
scrubbed, or turn scrubbing off; even then the request's credential headers and cookies are filtered.

One owner, applied once to every event, whichever way it came in: ``prepare`` (app/recording/prepare.py)
calls :func:`scrub_event` before anything else reads the event. It covers the request (headers, cookies,
query string, data), the user, tags, extra data (contexts, breadcrumbs ...), each frame's ``vars``, the
message, the exception values and the stack-trace text (assignments and card numbers) and the raw payload, so what was scrubbed is not kept
there either.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import orjson

from app.ingest.clean_payload import MIN_CARD as _MIN_CARD
from app.ingest.clean_payload import has_word, may_hold_card, normalise_key, text_is_clean, tree_is_clean
from app.ingest.incoming import MAX_NESTING, TRUNCATION_MARKER, IncomingError

FILTERED = "[Filtered]"
SENSITIVE_KEYS = ("password", "secret", "passwd", "api_key", "apikey", "auth", "credentials", "mysql_pwd",
                  "privatekey", "private_key", "token", "bearer", "session", "cookie", "card[number]")
# Filtered whatever the settings say: the credentials of the request the error happened in.
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
                               "x-sentry-auth", "x-csrftoken", "x-csrf-token", "x-xsrf-token"})
# ``key=value`` inside text: query strings, URLs, cookie strings, form bodies, a logged WSGI environ.
_TEXT_ASSIGNMENT = re.compile(r"(^|[?&;,\s'\"])([A-Za-z0-9_.\-\[\]]{1,100})=([^&;,\s'\"#]*)")
# Card numbers start with a vendor's prefix (Amex 34/37, Visa 4, Mastercard 51-55 and 2221-2720, Discover
# 6011/65); a bare run of digits (a millisecond timestamp, an id) is not taken for one.
# (No look-behind for a digit before: it would cost the scan its quick skip to the first character, which
# makes it eight times faster; _card_match checks that character instead.)
_CARD = re.compile(r"(?:3[47][0-9]{2}|4[0-9]{3}|5[1-5][0-9]{2}|2[2-7][0-9]{2}|6011|65[0-9]{2})"
                   r"(?:[ -]?[0-9]){9,15}(?![0-9])")
_LONG_TEXT = 256
# Object keys of JSON text, for a raw payload that is no longer JSON (cut at its size limit).
_TEXT_PAIR = re.compile(r'"((?:[^"\\]|\\.){1,200})"\s*(:|,)\s*("(?:[^"\\]|\\.)*"?|[^,\]}\s{\["]+)')
_KEY_CACHE_SIZE = 4096

SENSITIVE, SAFE, PLAIN = 1, 2, 0


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check that card numbers carry."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        number = ord(char) - 48
        if index % 2:
            number *= 2
            if number > 9:
                number -= 9
        total += number
    return total % 10 == 0


def _card_match(match: re.Match) -> str:
    start = match.start()
    if start and match.string[start - 1].isdigit():  # the tail of a longer number
        return match.group(0)
    digits = match.group(0).replace(" ", "").replace("-", "")
    return FILTERED if _MIN_CARD <= len(digits) <= 19 and luhn_valid(digits) else match.group(0)


def scrub_cards(text: str) -> str:
    """``text`` with each credit-card number in it replaced by ``[Filtered]`` (the same object if none)."""
    if len(text) < _MIN_CARD or _CARD.search(text) is None:
        return text
    scrubbed = _CARD.sub(_card_match, text)
    return text if scrubbed == text else scrubbed


class Scrubber:
    """The rules of one service's settings, compiled; :func:`scrubber_for` caches them."""

    def __init__(self, enabled: bool, extra_keys: tuple[str, ...] = (), safe_keys: tuple[str, ...] = ()):
        self.enabled = enabled
        if enabled:
            words = [normalise_key(k) for k in (*SENSITIVE_KEYS, *extra_keys)]
            self._pattern = re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)))
        else:  # only the credential headers and cookies, by their exact names
            self._pattern = re.compile("|".join(
                f"^{re.escape(normalise_key(k))}$" for k in (*SENSITIVE_HEADERS, "cookies")))
        self._safe = frozenset(normalise_key(k) for k in safe_keys)
        self._kinds: dict[str, int] = {}
        self._plain_names: set[str] = set()  # for clean_tree: keys and assigned names without a word
        # The words a key must contain to be filtered, for the quick test of a raw payload.
        self._words = tuple(sorted({normalise_key(k) for k in ((*SENSITIVE_KEYS, *extra_keys) if enabled else
                                                               (*SENSITIVE_HEADERS, "cookies"))}))

    def kind(self, key: str) -> int:
        """SENSITIVE, SAFE or PLAIN for a key (cached: the same few hundred keys come with every event)."""
        kind = self._kinds.get(key)
        if kind is None:
            normal = normalise_key(key)
            kind = SAFE if normal in self._safe else SENSITIVE if self._pattern.search(normal) else PLAIN
            if len(self._kinds) < _KEY_CACHE_SIZE:
                self._kinds[key] = kind
        return kind

    def text(self, value: str) -> str:
        """A string with its sensitive ``key=value`` assignments and card numbers filtered (the same object
        when nothing is)."""
        if not self.enabled:
            return value
        long = len(value) > _LONG_TEXT  # a stack trace, a message: substring tests before the expressions
        if "=" in value and (not long or has_word(self._words, value)):
            value = self.assignments(value)
        if len(value) >= _MIN_CARD and (not long or may_hold_card(value)):
            value = scrub_cards(value)
        return value

    def assignments(self, text: str) -> str:
        """``a=1&password=x`` -> ``a=1&password=[Filtered]`` (the same object when nothing is filtered)."""
        changed = False

        def pair(match: re.Match) -> str:
            nonlocal changed
            if not match.group(3) or match.group(3) == FILTERED or self.kind(match.group(2)) != SENSITIVE:
                return match.group(0)
            changed = True
            return f"{match.group(1)}{match.group(2)}={FILTERED}"
        scrubbed = _TEXT_ASSIGNMENT.sub(pair, text)
        return scrubbed if changed else text

    # --- the walk: in place, bounded by depth (every container here was built for this event) ---

    def walk(self, node, depth: int = 0) -> int:
        """Scrub a dict or list in place; the number of values replaced."""
        if type(node) is dict:
            return self._dict(node, depth)
        if type(node) is list:
            return self._list(node, depth)
        return 0

    # The two loops below run on every stored event (a few hundred values, twice: the fields and the raw
    # payload): keys are looked up in the cache inline and strings cost one length test and one "=" scan
    # unless they could hold a card number or an assignment; a call per value was most of their cost.

    def _string(self, value: str, depth: int):
        """(replacement or None, count) for a string that may hold a card number or an assignment."""
        scrubbed = self.text(value)
        return (scrubbed, 1) if scrubbed is not value else (None, 0)

    def _container(self, value, depth: int):
        if depth >= MAX_NESTING:  # what is too deep to read is not kept
            return FILTERED, 1
        return None, self._dict(value, depth + 1) if type(value) is dict else self._list(value, depth + 1)

    def _dict(self, node: dict, depth: int) -> int:
        count = 0
        kinds, enabled = self._kinds, self.enabled
        for key, value in node.items():
            if value is None:
                continue
            kind = kinds.get(key) if type(key) is str else PLAIN
            if kind is None:
                kind = self.kind(key)
            if kind == SENSITIVE:
                if value != FILTERED:
                    node[key] = FILTERED
                    count += 1
                continue
            if kind == SAFE:
                continue
            value_type = type(value)
            if value_type is str:
                if not enabled or (len(value) < _MIN_CARD and "=" not in value):
                    continue
                replacement, changed = self._string(value, depth)
            elif value_type is dict or value_type is list:
                replacement, changed = self._container(value, depth)
            else:
                continue
            if replacement is not None:
                node[key] = replacement
            count += changed
        return count

    def _list(self, node: list, depth: int) -> int:
        count = 0
        enabled = self.enabled
        for index, item in enumerate(node):
            item_type = type(item)
            if item_type is str:
                if not enabled or (len(item) < _MIN_CARD and "=" not in item):
                    continue
                replacement, changed = self._string(item, depth)
            elif item_type is dict:
                replacement, changed = self._container(item, depth)
            elif item_type is list:
                if len(item) == 2 and type(item[0]) is str and item[1] is not None:
                    kind = self.kind(item[0])  # a [key, value] pair: headers, query strings, cookies
                    if kind == SENSITIVE:
                        if item[1] != FILTERED:
                            item[1] = FILTERED
                            count += 1
                        continue
                    if kind == SAFE:
                        continue
                replacement, changed = self._container(item, depth)
            else:
                continue
            if replacement is not None:
                node[index] = replacement
            count += changed
        return count

    # --- the raw payload ---------------------------------------------------------------------------

    def raw(self, text: str | None) -> str | None:
        """The raw payload with what the rules filter filtered: read as JSON, scrubbed, written back
        (the text itself when nothing was filtered); text that is not whole JSON (a payload cut at its size
        limit) has its ``"key": value`` pairs and card numbers filtered as text."""
        if not text or self.clean_text(text):
            return text
        try:
            tree = orjson.loads(text)
        except orjson.JSONDecodeError:
            return self._raw_text(text)
        if self.walk(tree) == 0:
            return text
        return orjson.dumps(tree).decode()

    def clean_text(self, text: str) -> bool:
        """Whether JSON text certainly holds nothing to filter (app/ingest/clean_payload.py): most events
        are clean, and then the raw payload is neither parsed nor walked."""
        return text_is_clean(self._words, self.enabled, text)

    def clean_tree(self, tree, text: str) -> bool:
        """The same question of a whole raw payload, ``text``, from the tree it was parsed into, without
        searching the whole text for every word (app/ingest/clean_payload.py)."""
        return tree_is_clean(self._words, self.enabled, self._plain_names, tree, text)

    def _raw_text(self, text: str) -> str:
        def pair(match: re.Match) -> str:
            if self.kind(match.group(1)) != SENSITIVE or match.group(3) == f'"{FILTERED}"':
                return match.group(0)
            return f'"{match.group(1)}"{match.group(2)}"{FILTERED}"'
        text = _TEXT_PAIR.sub(pair, text)
        return self.text(text)


@lru_cache(maxsize=256)
def scrubber_for(enabled: bool = True, extra_keys: tuple[str, ...] = (),
                 safe_keys: tuple[str, ...] = ()) -> Scrubber:
    """The compiled rules for one combination of settings."""
    return Scrubber(enabled, extra_keys, safe_keys)


def _credential(name, value) -> bool:
    return value is not None and value != FILTERED and type(name) is str and name.lower() in SENSITIVE_HEADERS


def _headers(request: dict) -> int:
    """The request's credential headers and cookies, filtered whatever the settings (the rule that the
    Sentry normaliser applied alone before); the number replaced."""
    count = 0
    headers = request.get("headers")
    if type(headers) is dict:
        for name in [name for name, value in headers.items() if _credential(name, value)]:
            headers[name] = FILTERED
            count += 1
    elif type(headers) is list:
        for pair in headers:
            if type(pair) is list and len(pair) == 2 and _credential(pair[0], pair[1]):
                pair[1] = FILTERED
                count += 1
    if request.get("cookies") and request["cookies"] != FILTERED:
        request["cookies"] = FILTERED
        count += 1
    return count


# What normalisers make of an event's payload rather than copy from it: checked even when the payload is clean.
DERIVED_EXTRA = ("log_message", "user_report")


def _text_field(scrubber: Scrubber, holder, name: str, item: bool = False, clean_source: str | None = None) -> int:
    """Scrub one text the normalisers made; ``clean_source`` is a raw payload known to hold nothing to
    filter, and a text found in it verbatim holds nothing either (no card number can be in it, and a
    sensitive ``key=value`` in it would have made the payload unclean)."""
    value = holder.get(name) if item else getattr(holder, name)
    if type(value) is not str or (clean_source is not None and value in clean_source):
        return 0
    scrubbed = scrubber.text(value)
    if scrubbed is value:
        return 0
    if item:
        holder[name] = scrubbed
    else:
        setattr(holder, name, scrubbed)
    return 1


@dataclass(frozen=True)
class ParsedPayload:
    """What an ingest view found of the raw payload in the tree it parsed it into (see
    :func:`check_parsed_payload`); :func:`scrub_event` trusts it for that text and those rules only."""

    scrubber: Scrubber
    raw: str
    clean: bool


def check_parsed_payload(scrubber: Scrubber, tree, raw: str) -> ParsedPayload | None:
    """For an ingest view: whether the raw payload ``raw``, parsed as ``tree``, holds nothing to filter,
    asked before the normalisers read the tree (they may change it). None when ``raw`` is not whole."""
    if not raw or raw.endswith(TRUNCATION_MARKER):
        return None
    return ParsedPayload(scrubber, raw, scrubber.clean_tree(tree, raw))


def raw_payload_is_clean(incoming: IncomingError, scrubber: Scrubber, parsed: ParsedPayload | None = None) -> bool:
    """Whether the event's raw payload is whole and certainly holds nothing to filter: from the ingest
    view's look at the parsed tree (``parsed``) when it was made of this text with these rules, else from
    the text."""
    raw = incoming.raw_payload
    if not raw or raw.endswith(TRUNCATION_MARKER):
        return False
    if parsed is not None and parsed.raw is raw and parsed.scrubber is scrubber:
        return parsed.clean
    return scrubber.clean_text(raw)


def scrub_event(incoming: IncomingError, scrubber: Scrubber | None = None, parsed: ParsedPayload | None = None) -> int:
    """Scrub an event in place before it is prepared; the number of values replaced (the raw payload
    counts once). ``parsed``: what the ingest view found of the raw payload (:func:`check_parsed_payload`).

    The fields are made from the raw payload (IncomingError.raw_payload): when it is whole (not cut at
    its limit) and holds nothing to filter (:func:`raw_payload_is_clean`), neither do they, and only
    what the normalisers derive (the message, exception values, stack-trace text, :data:`DERIVED_EXTRA`)
    is checked; else every field is walked."""
    scrubber = scrubber or scrubber_for()
    raw = incoming.raw_payload
    whole_and_clean = raw_payload_is_clean(incoming, scrubber, parsed)
    count = 0
    if whole_and_clean:
        for name in DERIVED_EXTRA:
            value = incoming.extra.get(name)
            if type(value) is str:
                count += _text_field(scrubber, incoming.extra, name, item=True)
            elif type(value) in (dict, list):
                count += scrubber.walk(value)
    else:
        if type(incoming.request) is dict:
            count += _headers(incoming.request)
            count += scrubber.walk(incoming.request)
        for part in (incoming.user, incoming.extra, incoming.tags):
            if type(part) is dict and part:
                count += scrubber.walk(part)
        for exception in incoming.exceptions:
            for frame in exception.get("frames") or ():
                variables = frame.get("vars")
                if type(variables) is dict:
                    count += scrubber.walk(variables)
        scrubbed = scrubber.raw(raw)
        if scrubbed is not raw:
            incoming.raw_payload = scrubbed
            count += 1
    source = raw if whole_and_clean else None
    for exception in incoming.exceptions:
        count += _text_field(scrubber, exception, "value", item=True, clean_source=source)
    return (count + _text_field(scrubber, incoming, "message", clean_source=source)
            + _text_field(scrubber, incoming, "stack_trace", clean_source=source))
