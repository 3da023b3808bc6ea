"""docs/capture.md stays true: every example payload is accepted by the webhook it names, and the
Java reporter compiles and reports through the live server."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.factories import ingest
from tests.sentry.stored import stored_occurrences

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "capture.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)\n```", re.S)
WEBHOOK = re.compile(r"POST (/webhook/[a-z]+/)")


def _blocks(language: str) -> list[tuple[str, str]]:
    """(the paragraph before the block, the block) for every block of ``language``."""
    text = GUIDE.read_text()
    found = []
    for match in BLOCK.finditer(text):
        if match.group(1) == language:
            before = text[:match.start()].rstrip().rpartition("\n\n")[2]
            found.append((before, match.group(2)))
    return found


def _payload_examples() -> list[tuple[str, str]]:
    return [(WEBHOOK.search(before).group(1), block) for before, block in _blocks("json") if WEBHOOK.search(before)]


def test_the_guide_has_an_example_for_every_webhook_recipe():
    assert sorted({path for path, _ in _payload_examples()}) == [
        "/webhook/frontend/", "/webhook/java/", "/webhook/laravel/", "/webhook/mobile/"]


@pytest.mark.parametrize("path, body", _payload_examples(), ids=lambda value: value if value.startswith("/") else "")
def test_example_payload_is_accepted(client, service, api, path, body):
    import json

    response = ingest(client, service, json.loads(body), path=path)
    assert response.status_code == 201, response.json
    detail = api.get(f"/api/errors/{response.json['error_id']}/").json
    frames = detail["latest_occurrence"]["frames"]
    assert detail["error_type"] and detail["message"]
    assert frames, "the example's stack was not understood"


def test_java_reporter_from_the_guide_reports_a_chained_exception(live_server, service, tmp_path):
    if not (shutil.which("javac") and shutil.which("java")):
        pytest.skip("no JDK (javac) on this machine")
    [reporter] = [block for _, block in _blocks("java") if "final class HeartwatchReporter" in block]
    (tmp_path / "HeartwatchReporter.java").write_text(reporter)
    (tmp_path / "TileDemo.java").write_text("""
public class TileDemo {
    static void render() {
        try {
            throw new IllegalStateException("pool exhausted \\"primary\\"\\n\\ttab");
        } catch (IllegalStateException e) {
            throw new RuntimeException("tile 12/2143/1360 could not be rendered", e);
        }
    }

    public static void main(String[] args) {
        HeartwatchReporter reporter = new HeartwatchReporter(args[0], args[1], "staging", "geo-api@1.4.0");
        try {
            render();
        } catch (RuntimeException e) {
            System.out.println(reporter.report(e, "GET", "https://geo.example/tiles/12/2143/1360.png").join());
        }
    }
}
""")
    subprocess.run(["javac", "-d", str(tmp_path / "classes"), str(tmp_path / "HeartwatchReporter.java"),
                    str(tmp_path / "TileDemo.java")], check=True, capture_output=True, timeout=120)
    run = subprocess.run(["java", "-cp", str(tmp_path / "classes"), "TileDemo", live_server, service.ingest_key],
                         capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "201", run.stdout + run.stderr

    [occurrence] = stored_occurrences(service.id)
    assert occurrence.source == "java"
    cause, raised = occurrence.exceptions
    assert (cause["type"], cause["module"]) == ("IllegalStateException", "java.lang")
    assert cause["value"] == 'pool exhausted "primary"\n\ttab'
    assert (raised["type"], raised["value"]) == ("RuntimeException", "tile 12/2143/1360 could not be rendered")
    assert raised["frames"][-1]["function"] == "render"
    assert raised["frames"][-1]["filename"] == "TileDemo.java"
    assert occurrence.tags["thread_name"] == "main"
    assert (occurrence.environment, occurrence.release) == ("staging", "geo-api@1.4.0")
    assert occurrence.endpoint == "GET /tiles/12/2143/1360.png"
