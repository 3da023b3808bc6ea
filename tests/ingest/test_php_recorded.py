"""PHP traces as PHP 8.2 really prints them (recorded/php/report.php, its output recorded beside it), and
the same program run live when ``php`` is installed.

A frame names the function that contains its line, as Sentry's PHP SDK builds frames from ``getTrace()``.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.ingest.fingerprint import culprit
from app.ingest.sources.laravel import normalise
from app.ingest.stacktraces import detect_and_parse

RECORDED = Path(__file__).parent / "recorded"
PROGRAM = RECORDED / "php" / "report.php"
RAISED_IN = "app/Billing/InvoiceService.php"

# (file under the program's folder, line, function), oldest first. RuntimeException is thrown in a vendor
# client, called from a static method, called from a closure that array_map (an internal function) calls
# from a method; InvoiceFailed wraps it in that method's catch.
CAUSE = [
    ("report.php", 42, "{main}"),
    ("report.php", 34, "run"),
    (RAISED_IN, 16, "App\\Billing\\InvoiceService->send"),
    ("[internal function]", None, "array_map"),
    (RAISED_IN, 17, "App\\Billing\\InvoiceService->App\\Billing\\{closure}"),
    ("app/Billing/Gateway.php", 11, "App\\Billing\\Gateway::post"),
    ("vendor/acme/http/src/Client.php", 9, "Acme\\Http\\Client->send"),
]
RAISED = [
    ("report.php", 42, "{main}"),
    ("report.php", 34, "run"),
    (RAISED_IN, 20, "App\\Billing\\InvoiceService->send"),
]


def _root(payload: dict) -> str:
    """The folder the program ran in, as its output names it."""
    raised_in = payload["exception"]["file"]
    assert raised_in.endswith(RAISED_IN)
    return raised_in[: -len(RAISED_IN)]


def located(frames: list[dict], root: str) -> list[tuple]:
    return [(f["filename"].removeprefix(root), f["lineno"], f["function"]) for f in frames]


def _assert_invoice_chain(chain: list[dict], root: str, cause_frames=CAUSE, raised_frames=RAISED):
    cause, raised = chain
    assert (cause["type"], cause["module"], cause["value"]) == (
        "RuntimeException", None, "connection refused: https://billing.example/lines/hosting")
    assert (raised["type"], raised["module"], raised["value"]) == (
        "InvoiceFailed", "App\\Billing", "invoice could not be sent")
    assert located(cause["frames"], root) == cause_frames
    assert located(raised["frames"], root) == raised_frames
    # A method's frame is in its class; vendor/ and PHP's own calls are not the app's.
    assert cause["frames"][-1]["module"] == "Acme\\Http\\Client"
    assert cause["frames"][-2]["module"] == "App\\Billing\\Gateway"
    assert [f["in_app"] for f in cause["frames"]] == [True, True, True, False, True, True, False]


@pytest.mark.parametrize("recording", ["php82-invoice-trace.json", "php82-invoice-trace-text.json"])
def test_laravel_payload_frames_name_the_function_containing_each_line(recording):
    # getTrace() arrays (as docs/capture.md's reporter posts them) and getTraceAsString() text.
    payload = json.loads((RECORDED / recording).read_text())
    incoming = normalise(payload, 1)
    root = _root(payload)
    _assert_invoice_chain(incoming.exceptions, root)
    assert culprit(incoming) == f"App\\Billing\\InvoiceService->send in {root}{RAISED_IN}"


def test_uncaught_fatal_error_text_with_its_next_exception():
    # PHP prints the previous exception first, then "Next" for the one wrapping it.
    text = (RECORDED / "php82-invoice-uncaught.txt").read_text()
    chain = detect_and_parse(text)
    root = chain[-1]["frames"][-1]["filename"][: -len(RAISED_IN)]
    # Left uncaught, run() was called from line 39.
    moved = [(file, 39 if (file, function) == ("report.php", "{main}") else line, function)
             for file, line, function in CAUSE]
    _assert_invoice_chain(chain, root, moved, [moved[0], *RAISED[1:]])
    assert detect_and_parse(text, "php") == chain


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["php", str(PROGRAM), *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.skipif(shutil.which("php") is None, reason="php is not installed")
@pytest.mark.parametrize("mode", ["array", "text"])
def test_live_php_gives_what_was_recorded(mode):
    recorded = json.loads((RECORDED / ("php82-invoice-trace.json" if mode == "array"
                                       else "php82-invoice-trace-text.json")).read_text())
    result = _run(mode)
    assert result.returncode == 0, result.stderr
    live = json.loads(result.stdout)
    root = _root(live)
    _assert_invoice_chain(normalise(live, 1).exceptions, root)
    expected = normalise(recorded, 1).exceptions
    for exc in expected:
        for frame in exc["frames"]:
            frame["filename"] = frame["filename"].replace(_root(recorded), root)
            frame["abs_path"] = frame["abs_path"] and frame["abs_path"].replace(_root(recorded), root)
    assert normalise(live, 1).exceptions == expected


@pytest.mark.skipif(shutil.which("php") is None, reason="php is not installed")
def test_live_php_uncaught_error_parses_as_recorded():
    result = _run("throw")
    assert result.returncode == 255
    chain = detect_and_parse(result.stderr)
    assert [e["type"] for e in chain] == ["RuntimeException", "InvoiceFailed"]
    root = chain[-1]["frames"][-1]["filename"][: -len(RAISED_IN)]
    recorded = detect_and_parse((RECORDED / "php82-invoice-uncaught.txt").read_text())
    recorded_root = recorded[-1]["frames"][-1]["filename"][: -len(RAISED_IN)]
    assert [located(e["frames"], root) for e in chain] == [located(e["frames"], recorded_root) for e in recorded]
