"""The real sentry-sdk 2.x, pointed at a live Heartwatch by the service's DSN."""
from __future__ import annotations

import logging
import uuid

import pytest
import sentry_sdk
from flask import Flask
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from tests.sentry.stored import stored_errors, stored_occurrences


class PaymentDeclined(Exception):
    pass


def charge_card(order_id: int):
    try:
        raise ConnectionError(f"payment gateway timed out for order {order_id}")
    except ConnectionError as exc:
        raise PaymentDeclined(f"order {order_id} could not be charged") from exc


def _capture_declined_payment(order_id: int = 42) -> str:
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("checkout", "v2")
        scope.set_user({"id": "u-7", "email": "ada@example.test"})
        try:
            charge_card(order_id)
        except PaymentDeclined as exc:
            return sentry_sdk.capture_exception(exc)


def _assert_declined_payment_stored(service, event_id: str):
    [occurrence] = stored_occurrences(service.id)
    assert occurrence.id == str(uuid.UUID(event_id))
    assert occurrence.source == "sentry"
    cause, raised = occurrence.exceptions
    assert (cause["type"], cause["value"]) == ("ConnectionError", "payment gateway timed out for order 42")
    assert (raised["type"], raised["value"]) == ("PaymentDeclined", "order 42 could not be charged")
    assert raised["module"] == __name__
    # Frames oldest first: the test calls charge_card, which raises.
    functions = [frame["function"] for frame in raised["frames"]]
    assert functions[-2:] == ["_capture_declined_payment", "charge_card"]
    top = raised["frames"][-1]
    assert top["in_app"] is True
    assert top["module"] == __name__
    assert top["abs_path"].endswith("tests/sentry/test_python_sdk.py")
    assert top["context_line"].strip() == 'raise PaymentDeclined(f"order {order_id} could not be charged") from exc'
    assert top["pre_context"] and top["post_context"]
    assert isinstance(top["lineno"], int)
    assert occurrence.severity == "high"  # level "error"
    assert occurrence.tags["checkout"] == "v2"
    assert occurrence.tags["handled"] == "yes"
    assert occurrence.user == {"id": "u-7", "email": "ada@example.test"}
    assert occurrence.release == "shop@1.4.0"
    assert occurrence.environment == "staging"
    assert occurrence.extra["sdk"]["name"] == "sentry.python"
    [error] = stored_errors(service.id)
    assert (error.error_type, error.message, error.severity) == ("PaymentDeclined", "order 42 could not be charged",
                                                                 "high")
    assert error.culprit == f"charge_card in {__name__}"


def test_chained_exception_sent_with_brotli_is_stored(sentry_init, service):
    client = sentry_init(release="shop@1.4.0", environment="staging")
    # brotli is importable (requirements.txt), so the SDK compresses with it by default.
    assert client.transport._compression_algo == "br"
    event_id = _capture_declined_payment()
    sentry_sdk.flush(timeout=10)
    _assert_declined_payment_stored(service, event_id)


def test_chained_exception_sent_with_gzip_is_stored(sentry_init, service):
    client = sentry_init(release="shop@1.4.0", environment="staging",
                         _experiments={"transport_compression_algo": "gzip"})
    assert client.transport._compression_algo == "gzip"
    event_id = _capture_declined_payment()
    sentry_sdk.flush(timeout=10)
    _assert_declined_payment_stored(service, event_id)


def test_uncompressed_event_is_stored(sentry_init, service):
    client = sentry_init(release="shop@1.4.0", environment="staging",
                         _experiments={"transport_compression_level": 0})
    assert client.transport._compression_level == 0
    event_id = _capture_declined_payment()
    sentry_sdk.flush(timeout=10)
    _assert_declined_payment_stored(service, event_id)


def test_capture_message_keeps_level_tags_and_environment(sentry_init, service):
    sentry_init(release="2.0.1", server_name="web-3")
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("tenant", "acme")
        scope.set_level("warning")
        event_id = sentry_sdk.capture_message("nightly import skipped 3 rows")
    sentry_sdk.flush(timeout=10)

    [occurrence] = stored_occurrences(service.id)
    assert occurrence.id == str(uuid.UUID(event_id))
    assert occurrence.message == "nightly import skipped 3 rows"
    assert occurrence.severity == "medium"  # warning
    assert occurrence.tags["tenant"] == "acme"
    assert occurrence.environment == "production"  # the SDK's default
    assert (occurrence.release, occurrence.server_name) == ("2.0.1", "web-3")
    [error] = stored_errors(service.id)
    assert (error.error_type, error.severity) == ("Message", "medium")


def test_logging_integration_reports_error_records(sentry_init, service):
    sentry_init(integrations=[LoggingIntegration(level=None, event_level=logging.ERROR)])
    log = logging.getLogger("shop.billing")
    try:
        {}["invoice"]
    except KeyError:
        log.error("could not bill order %s", 17, exc_info=True)
    log.error("ledger out of balance by %s cents", 250)
    log.warning("below the event level: not sent")
    sentry_sdk.flush(timeout=10)

    with_exception, message_only = stored_occurrences(service.id)
    assert with_exception.exceptions[-1]["type"] == "KeyError"
    assert with_exception.message == "'invoice'"
    assert with_exception.extra["log_message"] == "could not bill order 17"
    assert with_exception.tags["logger"] == "shop.billing"
    assert with_exception.exceptions[-1]["frames"][-1]["function"] == "test_logging_integration_reports_error_records"
    assert message_only.message == "ledger out of balance by 250 cents"
    assert message_only.tags["logger"] == "shop.billing"
    assert message_only.severity == "high"


def test_flask_integration_reports_a_failing_route(sentry_init, service):
    sentry_init(integrations=[FlaskIntegration()], release="orders@9")
    shop = Flask("shop")

    @shop.get("/orders/<int:order_id>")
    def show_order(order_id):
        raise LookupError(f"order {order_id} has no invoice")

    response = shop.test_client().get("/orders/5?expand=lines", headers={"User-Agent": "pytest-shop"})
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)

    [occurrence] = stored_occurrences(service.id)
    assert occurrence.exceptions[-1]["type"] == "LookupError"
    assert occurrence.message == "order 5 has no invoice"
    assert occurrence.exceptions[-1]["frames"][-1]["function"] == "show_order"
    assert occurrence.tags["handled"] == "no"
    assert occurrence.endpoint == "GET /orders/5"
    assert occurrence.request["url"] == "http://localhost/orders/5"
    assert occurrence.request["query_string"] == "expand=lines"
    assert occurrence.request["headers"]["User-Agent"] == "pytest-shop"
    assert occurrence.extra["transaction"] == "show_order"
    assert occurrence.release == "orders@9"


def test_repeated_event_id_is_stored_once(sentry_init, service):
    client = sentry_init()
    event = {"event_id": uuid.uuid4().hex, "level": "error", "platform": "python",
             "exception": {"values": [{"type": "TimeoutError", "value": "upstream took 30s"}]}}
    client.capture_event(dict(event))
    sentry_sdk.flush(timeout=10)
    client.capture_event(dict(event))  # an SDK retry or an offline cache replaying it
    sentry_sdk.flush(timeout=10)

    [occurrence] = stored_occurrences(service.id)
    assert occurrence.id == str(uuid.UUID(event["event_id"]))
    [error] = stored_errors(service.id)
    assert error.occurrence_count == 1


@pytest.mark.parametrize("wrong", ["key", "service"])
def test_sdk_with_a_wrong_dsn_stores_nothing(sentry_init, live_server, service, wrong):
    from tests.factories import make_service

    other = make_service("Billing")
    if wrong == "key":
        dsn = f"http://{'0' * 32}@{live_server.split('://')[1]}/{service.id}"
    else:  # a real key, but of another service
        dsn = f"http://{other.ingest_key}@{live_server.split('://')[1]}/{service.id}"
    sentry_init(dsn=dsn)
    sentry_sdk.capture_message("should not be stored")
    sentry_sdk.flush(timeout=10)
    assert stored_occurrences() == []


def price_cart(cart: dict):
    """Raises with locals of every kind: the SDK sends them as each frame's ``vars``."""
    discount_code = "SPRING<b>24</b>"
    quantities = [line["qty"] for line in cart["lines"]]
    audit_log = "line changed; " * 20_000  # a huge local: 280,000 characters
    nested = {"warehouse": {"shelf": {"bin": {"slot": 7}}}}
    total = sum(quantities) - 99
    if total < 0:
        raise ValueError(f"cart total is negative: {total}")
    return total, discount_code, audit_log, nested


def test_frame_local_variables_are_kept_bounded_and_shown_folded(sentry_init, service, client, lead):
    from app.ingest.stacktraces.frames import MAX_EVENT_VARS, MAX_VAR_CHARS, vars_size
    from tests.web.test_dashboard_errors import login

    sentry_init()  # include_local_variables is the SDK's default
    try:
        price_cart({"lines": [{"qty": 2}, {"qty": 1}]})
    except ValueError as exc:
        event_id = sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=10)

    [occurrence] = stored_occurrences(service.id)
    assert occurrence.id == str(uuid.UUID(event_id))
    frames = occurrence.exceptions[-1]["frames"]
    raising = frames[-1]
    assert raising["function"] == "price_cart"
    local_vars = raising["vars"]
    assert set(local_vars) >= {"cart", "discount_code", "quantities", "audit_log", "nested", "total"}
    assert local_vars["discount_code"] == "'SPRING<b>24</b>'"  # the SDK's repr
    assert local_vars["total"] == "-96"
    assert local_vars["quantities"] == ["2", "1"]
    # The huge local is cut; a container at the third level is marked, not followed.
    assert local_vars["cart"] == {"lines": ["{…}", "{…}"]}
    assert len(local_vars["audit_log"]) == MAX_VAR_CHARS and local_vars["audit_log"].endswith("…")
    assert local_vars["nested"] == {"warehouse": {"shelf": "{…}"}}
    assert sum(vars_size(frame.get("vars")) for frame in frames) <= MAX_EVENT_VARS
    # The test's own frame is there too, with its locals.
    assert frames[-2]["function"] == "test_frame_local_variables_are_kept_bounded_and_shown_folded"
    assert "exc" in frames[-2]["vars"]

    [error] = stored_errors(service.id)
    login(client, lead)
    body = client.get(f"/errors/{error.id}").get_data(as_text=True)
    assert body.count('<details class="frame-vars">') >= 2
    assert "<b>24</b>" not in body and "&#39;SPRING&lt;b&gt;24&lt;/b&gt;&#39;" in body
    assert '<th class="mono">audit_log</th>' in body
