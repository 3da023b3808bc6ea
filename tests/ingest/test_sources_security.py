"""The security report normaliser, on the reports chromium really sent (tests/sentry/recorded/)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.ingest.incoming import InvalidPayload
from app.ingest.sources import security

pytestmark = pytest.mark.unit
RECORDED = Path(__file__).resolve().parents[1] / "sentry" / "recorded"


def recorded(name: str) -> list[tuple[str, object]]:
    data = json.loads((RECORDED / name).read_text())
    return [(r["content_type"], json.loads(r["body"])) for r in data["requests"]]


def reports(name: str) -> list:
    return [i for content_type, body in recorded(name) for i in security.from_browser_report(content_type, body, 7)]


def test_chromium_report_uri_bodies_become_titled_grouped_security_reports():
    found = reports("chromium-156-csp-report-uri.json")
    assert [(i.error_type, i.severity) for i in found] == [
        ("Blocked 'image' from 'evil.example'", "low"),
        ("Blocked 'script' from 'cdn.evil.example'", "low"),
        ("Blocked unsafe inline 'script'", "low"),
        ("Blocked style attribute", "low"),
        ("Blocked 'script' from 'cdn.evil.example'", "info"),  # Content-Security-Policy-Report-Only
        ("Blocked unsafe inline 'script'", "info"),
    ]
    image = found[0]
    assert image.kind == "security" and image.source == "security" and image.service_id == 7
    assert image.fingerprint == ["security", "csp", "img-src", "evil.example"]
    fields = image.extra["security"]
    assert fields["type"] == "csp"
    assert fields["blocked-uri"] == "https://evil.example/pixel.gif?u=1"
    assert fields["effective-directive"] == "img-src" and fields["violated-directive"] == "img-src"
    assert fields["original-policy"].startswith("default-src 'self'; script-src 'self'")
    assert fields["disposition"] == "enforce"
    assert fields["document-uri"].endswith("/uri") and fields["source-file"].endswith("/uri")
    assert (fields["line-number"], fields["column-number"], fields["status-code"]) == (1, 178, 200)
    assert image.tags == {"effective-directive": "img-src", "blocked-uri": "https://evil.example/pixel.gif?u=1",
                          "blocked-host": "evil.example", "disposition": "enforce"}
    assert image.endpoint == "/uri" and image.request == {"url": fields["document-uri"]}
    assert found[2].fingerprint == ["security", "csp", "script-src-elem", "inline"]


def test_chromium_reporting_api_batches_group_with_the_same_report_uri_reports():
    batch = reports("chromium-156-csp-reports-json.json")
    classic = reports("chromium-156-csp-report-uri.json")[:4]
    assert sorted(i.error_type for i in batch) == sorted(i.error_type for i in classic)
    assert sorted(map(tuple, (i.fingerprint for i in batch))) == sorted(map(tuple, (i.fingerprint for i in classic)))
    image = next(i for i in batch if i.fingerprint[2] == "img-src")
    assert image.extra["security"]["blocked-uri"] == "https://evil.example/pixel.gif?u=1"  # blockedURL
    assert image.extra["security"]["line-number"] == 1  # lineNumber
    assert image.timestamp is not None  # now less the report's age
    assert image.request["headers"]["User-Agent"].startswith("Mozilla/5.0")


@pytest.mark.parametrize("value, expected", [
    ("", "'self'"), ("self", "'self'"), ("data", "data:"), ("http", "http://"),
    ("http://notlocalhost/", "notlocalhost"), ("https://notlocalhost/lol.css", "notlocalhost"),
    ("data://notlocalhost/", "data://notlocalhost"), ("http://notlocalhost:8000/lol.css", "notlocalhost:8000"),
    ("xyz://notlocalhost/", "xyz://notlocalhost"), ("inline", "inline"), ("eval", "eval"),
    ("blob:https://shop.example/1f2e", "blob:"), ("wss://chat.example/socket", "wss://chat.example"),
])
def test_blocked_uris_normalise_as_relay_does(value, expected):
    assert security.normalise_uri(value) == expected


@pytest.mark.parametrize("directive, blocked, title", [
    ("style-src", "http://example.com/lol.css", "Blocked 'style' from 'example.com'"),
    ("default-src", "http://evilhackerscripts.com", "Blocked 'default-src' from 'evilhackerscripts.com'"),
    ("script-src", "http://baddomain.com/test.js?_=1515535030116", "Blocked 'script' from 'baddomain.com'"),
    ("script-src", "self", "Blocked unsafe (eval() or inline) 'script'"),
    ("script-src", "eval", "Blocked unsafe eval() 'script'"),
    ("form-action", "https://phish.example/post", "Blocked 'form' action to 'phish.example'"),
    ("img-src", "", "Blocked inline 'image'"),
])
def test_titles_are_worded_as_sentry_words_them(directive, blocked, title):
    assert security.csp_title(directive, blocked) == title


def test_firefox_reports_without_an_effective_directive_read_the_violated_one():
    body = {"csp-report": {"document-uri": "https://example.com/foo/bar", "referrer": "https://www.google.com/",
                           "violated-directive": "default-src self", "blocked-uri": "http://evilhackerscripts.com",
                           "original-policy": "default-src self; report-uri /csp-hotline.php"}}
    incoming, = security.from_browser_report("application/csp-report", body, 1)
    assert incoming.extra["security"]["effective-directive"] == "default-src"
    assert incoming.request == {"url": "https://example.com/foo/bar", "headers": {"Referer": "https://www.google.com/"}}


def test_certificate_reports_group_by_host():
    body = {"expect-ct-report": {"date-time": "2014-04-06T13:00:50Z", "hostname": "www.example.com", "port": 443,
                                 "effective-expiration-date": "2014-05-01T12:40:50Z",
                                 "scts": [{"version": 1, "status": "invalid", "source": "embedded"}]}}
    incoming, = security.from_browser_report("application/expect-ct-report+json", body, 1)
    assert incoming.error_type == "Expect-CT failed for 'www.example.com'"
    assert incoming.fingerprint == ["security", "expectct", "www.example.com"]
    assert incoming.extra["security"]["scts"][0]["status"] == "invalid"
    hpkp = {"date-time": "2014-04-06T13:00:50Z", "hostname": "www.example.com", "port": 443,
            "include-subdomains": False, "known-pins": ["pin-sha256=\"E9CZ9INDbd+2eRQozYqqbQ2yXLVKB9+xcprMF+44U1g=\""]}
    incoming, = security.from_browser_report("application/json", hpkp, 1)
    assert incoming.error_type == "Public key pinning validation failed for 'www.example.com'"


@pytest.mark.parametrize("content_type, body, field", [
    ("application/csp-report", {"csp-report": {"blocked-uri": "https://x.example"}}, "effective-directive"),
    ("application/csp-report", {"csp-report": {"effective-directive": "made-up-src"}}, "effective-directive"),
    ("application/csp-report", {"hello": "world"}, "body"),
    ("application/csp-report", ["not", "an", "object"], "body"),
    ("application/reports+json", {"type": "csp-violation"}, "body"),
    ("application/reports+json", [{"type": "csp-violation", "body": "text"}], "body"),
    ("application/reports+json", [{"type": "csp-violation", "body": {}}] * 101, "body"),
    ("application/json", {"expect-staple-report": {"port": 443}}, "hostname"),
])
def test_bodies_that_are_no_report_are_refused_naming_the_field(content_type, body, field):
    with pytest.raises(InvalidPayload) as caught:
        security.from_browser_report(content_type, body, 1)
    assert caught.value.field == field


def test_reports_of_other_types_in_a_batch_are_skipped():
    batch = [{"type": "deprecation", "body": {"id": "x"}},
             {"type": "csp-violation", "body": {"effectiveDirective": "img-src", "blockedURL": "https://a.example/x"}}]
    found = security.from_browser_report("application/reports+json", batch, 1)
    assert [i.error_type for i in found] == ["Blocked 'image' from 'a.example'"]


def test_a_sentry_event_with_a_csp_interface_becomes_a_security_report():
    from app.ingest.sources import sentry

    event = {"event_id": "9ec79c33ec9942ab8353589fcb2e04dc", "level": "error", "environment": "shop",
             "tags": {"team": "web"},
             "sentry.interfaces.Csp": {"effective_directive": "script-src", "blocked_uri": "https://evil.example/x.js",
                                       "document_uri": "https://shop.example/cart", "violated_directive": "script-src"}}
    incoming = sentry.normalise(event, 3)
    assert incoming.kind == "security" and incoming.severity == "low"
    assert incoming.error_type == "Blocked 'script' from 'evil.example'"
    assert incoming.fingerprint == ["security", "csp", "script-src", "evil.example"]
    assert incoming.environment == "shop" and incoming.tags["team"] == "web"
    assert incoming.extra["security"]["document-uri"] == "https://shop.example/cart"
    plain = sentry.normalise({"message": "hello"}, 3)
    assert plain.kind == "error"


def test_a_sentry_event_with_an_unreadable_csp_interface_is_still_no_error_to_route():
    from app.ingest.sources import sentry

    incoming = sentry.normalise({"message": "csp", "csp": {"blocked_uri": "https://x.example"}}, 3)
    assert (incoming.kind, incoming.severity, incoming.message) == ("security", "low", "csp")
    assert incoming.extra["security"] == {"type": "csp", "blocked_uri": "https://x.example"}
