"""Fixtures for source maps: a front-end build made with esbuild from npm, prepared by the real
sentry-cli (``sourcemaps inject``), and sentry-cli run against a live Heartwatch."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "node_modules" / ".bin"
SOURCES = Path(__file__).resolve().parent / "shop"


def _tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: scripts/vendor-assets.sh installs package.json's devDependencies")
        pytest.skip(f"{path} is missing (scripts/vendor-assets.sh installs it)")
    return path


@pytest.fixture
def build(tmp_path) -> Path:
    """``dist/`` of the shop's sources (tests/symbolication/shop/) minified by esbuild with a source map,
    then given debug ids by ``sentry-cli sourcemaps inject``."""
    shutil.copytree(SOURCES, tmp_path / "src")
    subprocess.run([str(_tool("esbuild")), "src/shop.js", "--bundle", "--minify", "--sourcemap", "--format=iife",
                    "--outfile=dist/main.js"], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    subprocess.run([str(_tool("sentry-cli")), "sourcemaps", "inject", "dist"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=60, env=_cli_env({}))
    return tmp_path / "dist"


def _cli_env(extra: dict) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SENTRY_")}
    env.update({"SENTRY_LOAD_DOTENV": "0", "SENTRY_DISABLE_UPDATE_CHECK": "1", "SENTRYCLI_SKIP_DOWNLOAD": "1",
                "HOME": env.get("HOME", "/tmp")})
    env.update(extra)
    return env


@pytest.fixture
def sentry_cli():
    """``sentry_cli(live_server, token, project, *args)`` runs the real sentry-cli against Heartwatch."""

    def run(url: str, token: str, project: str, *args: str, org: str = "heartwatch", cwd=None):
        return subprocess.run([str(_tool("sentry-cli")), *args], cwd=cwd, capture_output=True, text=True,
                              timeout=120, env=_cli_env({"SENTRY_URL": url, "SENTRY_AUTH_TOKEN": token,
                                                         "SENTRY_ORG": org, "SENTRY_PROJECT": project}))

    return run
