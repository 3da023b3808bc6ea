"""Server-side scrubbing of what the real sentry-sdk 2.x sends when its own scrubber lets everything through
(send_default_pii, local variables, an event scrubber with an empty deny list): passwords in locals,
extra data, headers, cookies and the query string are stored as [Filtered], in the API and on the page."""
from __future__ import annotations

import sentry_sdk
from flask import Flask
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.scrubber import EventScrubber

from app.ingest.scrubbing import FILTERED
from tests.factories import ApiClient, make_developer, make_token
from tests.sentry.stored import stored_occurrences

SECRET = "hunter2-8f3a"
NOTHING = ["-no-such-key-"]  # the SDK's scrubber then denies nothing


def _init(sentry_init):
    return sentry_init(integrations=[FlaskIntegration()], send_default_pii=True, include_local_variables=True,
                       event_scrubber=EventScrubber(denylist=NOTHING, pii_denylist=NOTHING))


def _shop() -> Flask:
    shop = Flask("shop")

    @shop.post("/login")
    def sign_in():
        password = SECRET  # noqa: F841  (a local variable the SDK sends with the frame)
        sentry_sdk.set_extra("db_password", SECRET)
        sentry_sdk.set_extra("attempt", 3)
        raise PermissionError("sign-in backend unavailable")

    return shop


def test_what_the_sdk_sent_unscrubbed_is_stored_filtered(sentry_init, service, client):
    _init(sentry_init)
    response = _shop().test_client().post(
        f"/login?next=/cart&access_token={SECRET}",
        headers={"Authorization": f"Bearer {SECRET}", "Cookie": f"session={SECRET}", "User-Agent": "pytest-shop"},
        data={"email": "ada@example.test", "password": SECRET})
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)

    [occurrence] = stored_occurrences(service.id)
    raw = occurrence.raw_payload
    # What the SDK sent: the secret in the frame's locals, extra, headers, cookies, query string and form.
    assert '"vars"' in raw and '"password":"[Filtered]"' in raw.replace(" ", "")
    assert SECRET not in raw
    assert occurrence.request["headers"]["Authorization"] == FILTERED
    assert occurrence.request["headers"]["User-Agent"] == "pytest-shop"
    assert occurrence.request["cookies"] == FILTERED  # the SDK sends the Cookie header as cookies
    assert occurrence.request["query_string"] == f"next=/cart&access_token={FILTERED}"
    assert occurrence.request["data"] == {"email": "ada@example.test", "password": FILTERED}
    assert occurrence.extra["db_password"] == FILTERED and occurrence.extra["attempt"] == 3

    # Through the API and on the error page, the secret is nowhere.
    reader = make_developer("Rita Reader", role="lead", services=[service])
    api = ApiClient(client, make_token(reader))
    error_id = occurrence.error_id
    answer = api.get(f"/api/errors/{error_id}/occurrences/")
    assert answer.status_code == 200 and SECRET not in answer.get_data(as_text=True)
    assert answer.json["items"][0]["extra"]["db_password"] == FILTERED
    assert client.post("/login", data={"email": reader.email, "password": "correct horse battery"}).status_code == 303
    page = client.get(f"/errors/{error_id}").get_data(as_text=True)
    assert "sign-in backend unavailable" in page and SECRET not in page
