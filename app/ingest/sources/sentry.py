"""A Sentry event (what every official Sentry SDK sends) as an IncomingError.

The SDKs are machine-written but many and various: a field of an unexpected shape is dropped,
never a reason to refuse the event; only an event that is not a JSON object is refused (earlier,
by the envelope reader). Shapes follow Sentry's event payload documentation.
"""
from __future__ import annotations

import uuid
from typing import Any

from app.ingest.incoming import (
    MAX_MESSAGE_CHARS, IncomingError, InvalidPayload, clean_json, endpoint_from_request, parse_event_id,
    parse_fingerprint, parse_tags, parse_timestamp, strip_nul, truncate,
)
from app.ingest.severity import normalise_severity
from app.ingest.sources import security
from app.ingest.stacktraces import MAX_CHAIN, MAX_FRAMES, limit_event_vars, make_exception, make_frame

DEFAULT_ENVIRONMENT = "production"
MESSAGE_TYPE = "Message"
MAX_BREADCRUMBS = 100
AUTO_IP = ("{{auto}}", "{{ auto }}")
# Kept as they came, for the error page (contexts: os, runtime, browser, device, trace ...).
EXTRA_FIELDS = ("contexts", "sdk", "logger", "transaction", "dist")
# The interface names of raven-era clients, which still post to /store/, read as Relay reads them
# (its event schema's legacy aliases): the modern name wins when both are sent.
LEGACY_INTERFACES = {
    "sentry.interfaces.Message": "logentry", "sentry.interfaces.Exception": "exception",
    "sentry.interfaces.Stacktrace": "stacktrace", "sentry.interfaces.User": "user",
    "sentry.interfaces.Http": "request", "sentry.interfaces.Breadcrumbs": "breadcrumbs",
    "sentry.interfaces.Contexts": "contexts", "sentry.interfaces.Template": "template",
    "sentry.interfaces.Csp": "csp", "sentry.interfaces.Hpkp": "hpkp", "sentry.interfaces.ExpectCT": "expectct",
    "sentry.interfaces.ExpectStaple": "expectstaple",
}
LEGACY_STACKTRACE = "sentry.interfaces.Stacktrace"


def _text(value: Any, limit: int) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = strip_nul(value if isinstance(value, str) else str(value))
    return truncate(text, limit) if text else None


def _values(value: Any) -> list:
    """Sentry's interfaces come as ``{"values": [...]}`` or as a bare list."""
    if isinstance(value, dict):
        value = value.get("values")
    return value if isinstance(value, list) else []


def _format_params(template: str, params: Any, limit: int = MAX_MESSAGE_CHARS) -> str:
    """printf- or brace-style ``template`` filled from ``params``, without Python's ``%``, and never
    longer than ``limit``: a client's ``%999999999s``, or one large parameter referenced a thousand
    times, must not allocate more than the message that is kept."""
    if not isinstance(params, (dict, list)) or not params:
        return template
    out: list[str] = []
    size = 0
    texts: dict = {}  # each parameter as text once, cut to the limit

    def param(key) -> str:
        if key not in texts:
            texts[key] = str(params[key])[:limit]
        return texts[key]

    def add(text: str) -> bool:
        nonlocal size
        out.append(text[:limit - size])
        size += len(out[-1])
        return size < limit

    i, n = 0, 0
    while i < len(template):
        if isinstance(params, dict):
            start = template.find("%(", i)
            close = template.find(")", start + 2) if start >= 0 else -1
            if start < 0 or close < 0 or close + 1 >= len(template):
                add(template[i:])
                break
            name = template[start + 2:close]
            if not add(template[i:start]) or not add(param(name) if name in params else template[start:close + 2]):
                break
            i = close + 2
            continue
        char, pair = template[i], template[i:i + 2]
        if pair == "%%":
            text, i = "%", i + 2
        elif (pair == "{}" or (char == "%" and i + 1 < len(template) and template[i + 1] in "sdifr")) \
                and n < len(params):
            text, n, i = param(n), n + 1, i + 2
        else:
            text, i = char, i + 1
        if not add(text):
            break
    return "".join(out)


def _log_message(event: dict) -> str | None:
    """The event's message: ``logentry``/``message`` as text or as ``{formatted, message, params}``."""
    for key in ("logentry", "message"):
        value = event.get(key)
        if isinstance(value, str) and value:
            return truncate(value, MAX_MESSAGE_CHARS)
        if isinstance(value, dict):
            formatted = value.get("formatted")
            if isinstance(formatted, str) and formatted:
                return truncate(formatted, MAX_MESSAGE_CHARS)
            template = value.get("message")
            if isinstance(template, str) and template:
                # One character over the limit, so that truncate marks the cut.
                return truncate(_format_params(template[:MAX_MESSAGE_CHARS], value.get("params"),
                                               MAX_MESSAGE_CHARS + 1), MAX_MESSAGE_CHARS)
    return None


def _frames(stacktrace: Any) -> list[dict]:
    if not isinstance(stacktrace, dict):
        return []
    raw = stacktrace.get("frames")
    if not isinstance(raw, list):
        return []
    frames = []
    for item in raw[-MAX_FRAMES:]:
        if not isinstance(item, dict):
            continue
        in_app = item.get("in_app")
        frames.append(make_frame(
            filename=item.get("filename") or item.get("abs_path") or "", abs_path=item.get("abs_path"),
            function=item.get("function") or item.get("raw_function"), module=item.get("module"),
            lineno=item.get("lineno"), colno=item.get("colno"), in_app=in_app is True,
            context_line=item.get("context_line"), pre_context=item.get("pre_context"),
            post_context=item.get("post_context"), vars=item.get("vars"),
        ))
    return frames


def with_modern_interfaces(event: dict) -> dict:
    """The event with its legacy interface names (``sentry.interfaces.Exception`` ...) read as the
    modern ones; the event itself when it has none (the common case costs one scan of its keys)."""
    if not any(type(key) is str and key.startswith("sentry.interfaces.") for key in event):
        return event
    modern = dict(event)
    for legacy, name in LEGACY_INTERFACES.items():
        if legacy in modern:
            value = modern.pop(legacy)
            if modern.get(name) in (None, "", {}, []):
                modern[name] = value
    return modern


def _exception_chain(event: dict) -> tuple[list[dict], str | None, dict | None]:
    """The chain (cause first, raised last, as Sentry orders it), the raised exception's whole
    message (a chain entry keeps the first 1,000 characters) and its mechanism."""
    values = [v for v in _values(event.get("exception")) if isinstance(v, dict)]
    chain = []
    for value in values[-MAX_CHAIN:]:
        stacktrace = value.get("stacktrace") or value.get(LEGACY_STACKTRACE)
        chain.append(make_exception(_text(value.get("type"), 255), _text(value.get("value"), MAX_MESSAGE_CHARS),
                                    _text(value.get("module"), 255), _frames(stacktrace)))
    if not values:
        return chain, None, None
    mechanism = values[-1].get("mechanism")
    return chain, _text(values[-1].get("value"), MAX_MESSAGE_CHARS), mechanism if isinstance(mechanism, dict) else None


def _thread_frames(event: dict) -> list[dict]:
    """Frames of the crashed (or else the current) thread: SDKs send the stack there when they
    attach one to a message, or when an exception's own stack is missing."""
    threads = [t for t in _values(event.get("threads")) if isinstance(t, dict) and t.get("stacktrace")]
    for wanted in ("crashed", "current"):
        for thread in threads:
            if thread.get(wanted) is True:
                return _frames(thread["stacktrace"])
    if len(threads) == 1:
        return _frames(threads[0]["stacktrace"])
    return _frames(event.get("stacktrace"))  # the legacy top-level interface


def _tags(value: Any) -> dict[str, str]:
    try:
        return parse_tags(value)
    except InvalidPayload:
        if not isinstance(value, list):
            return {}
        return parse_tags([item for item in value if isinstance(item, (list, tuple)) and len(item) == 2])


def _user(value: Any, client_address: str | None) -> dict | None:
    if not isinstance(value, dict):
        return None
    user = clean_json(value)
    if user.get("ip_address") in AUTO_IP:
        # "{{auto}}" asks the server to fill in the address the event came from.
        if client_address:
            user["ip_address"] = client_address
        else:
            user.pop("ip_address")
    return user or None


def _headers(value: Any) -> dict | None:
    if isinstance(value, list):
        value = {str(pair[0]): pair[1] for pair in value if isinstance(pair, (list, tuple)) and len(pair) == 2}
    if not isinstance(value, dict):
        return None
    return {str(name): item for name, item in value.items()}


def _request(value: Any) -> dict | None:
    """The request, its headers as an object. Credentials (an SDK with send_default_pii sends them) are
    filtered with the rest of the event's sensitive data, by app/ingest/scrubbing.py."""
    if not isinstance(value, dict):
        return None
    request = clean_json(value)
    if "headers" in request:
        request["headers"] = _headers(request["headers"])
    return request


def _http_status(event: dict) -> int | None:
    contexts = event.get("contexts")
    response = contexts.get("response") if isinstance(contexts, dict) else None
    status = response.get("status_code") if isinstance(response, dict) else None
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
        return status
    return None


def event_id_of(event: dict, envelope_event_id: Any = None) -> str:
    """The event's id as a dashed UUID: the envelope header's, else the event's, else a new one."""
    for candidate in (envelope_event_id, event.get("event_id")):
        try:
            parsed = parse_event_id(candidate)
        except InvalidPayload:
            continue
        if parsed:
            return parsed
    return str(uuid.uuid4())


def normalise(event: dict, service_id: int, *, event_id: str | None = None,
              client_address: str | None = None) -> IncomingError:
    """A decoded Sentry event (``/store/`` body or an envelope's event item) as an IncomingError.

    ``event_id`` is the id already settled on (see :func:`event_id_of`); ``client_address`` fills
    a ``{{auto}}`` user IP address.
    """
    event = with_modern_interfaces(event)
    chain, raised_message, mechanism = _exception_chain(event)
    log_message = _log_message(event)
    if chain and not any(e["frames"] for e in chain):
        chain[-1]["frames"] = _thread_frames(event)
    raised = chain[-1] if chain else None
    if raised is not None and not raised["type"] and mechanism is not None and mechanism.get("synthetic") is True:
        # captureMessage with attachStacktrace: an exception made only to carry the stack. Sentry
        # titles such an event by its message and records no exception type for it.
        error_type = MESSAGE_TYPE
        message = log_message or raised_message or ""
        raised["type"] = MESSAGE_TYPE
    elif raised is not None:
        error_type = raised["type"] or "Error"
        message = raised_message or log_message or ""
    else:
        error_type = MESSAGE_TYPE
        message = log_message or ""
        frames = _thread_frames(event)
        if frames:
            chain = [make_exception(error_type, message, None, frames)]

    limit_event_vars(chain)  # each frame's local variables are bounded; so are all of them together
    incoming = IncomingError(service_id=service_id, source="sentry", error_type=truncate(error_type, 255),
                             message=message, exceptions=chain, http_status=_http_status(event),
                             client_in_app=True)
    incoming.event_id = event_id or event_id_of(event)
    level = event.get("level")
    try:
        incoming.severity = normalise_severity(level if level not in (None, "") else "error", field="level")
    except InvalidPayload:
        incoming.severity = None  # an unknown level: let the rules classify
    incoming.platform = _text(event.get("platform"), 32)
    incoming.environment = _text(event.get("environment"), 64) or DEFAULT_ENVIRONMENT
    incoming.release = _text(event.get("release"), 128)
    incoming.server_name = _text(event.get("server_name"), 255)
    try:
        incoming.timestamp = parse_timestamp(event.get("timestamp"))
    except InvalidPayload:
        incoming.timestamp = None  # the time received
    try:
        incoming.fingerprint = parse_fingerprint(event.get("fingerprint"))
    except InvalidPayload:
        incoming.fingerprint = None
    if incoming.fingerprint is None and not chain and not message:
        # Nothing to group by (no exception, frames or message): such an event must not merge with
        # every other empty one of the service, so it stands alone.
        incoming.fingerprint = [incoming.event_id]
    incoming.user = _user(event.get("user"), client_address)
    incoming.request = _request(event.get("request"))
    if incoming.request:
        incoming.endpoint = endpoint_from_request(incoming.request)

    tags = _tags(event.get("tags"))
    logger = _text(event.get("logger"), 200)
    if logger:
        tags.setdefault("logger", logger)
    if mechanism is not None:
        if isinstance(mechanism.get("handled"), bool):
            tags.setdefault("handled", "yes" if mechanism["handled"] else "no")
        mechanism_type = _text(mechanism.get("type"), 64)
        if mechanism_type:
            tags.setdefault("mechanism", mechanism_type)
    incoming.tags = tags

    extra = event.get("extra")
    if isinstance(extra, dict):
        incoming.extra.update(clean_json(extra))
    for key in EXTRA_FIELDS:
        if event.get(key) not in (None, "", {}, []):
            incoming.extra[key] = clean_json(event[key])
    breadcrumbs = _values(event.get("breadcrumbs"))
    if breadcrumbs:
        incoming.extra["breadcrumbs"] = clean_json(breadcrumbs[-MAX_BREADCRUMBS:])
    if log_message and raised is not None and log_message != message:
        incoming.extra["log_message"] = log_message
    if mechanism is not None:
        incoming.extra["mechanism"] = clean_json(mechanism)
    return security.apply_interface(event, incoming)  # a csp/hpkp/expectct/expectstaple interface
