"""schemathesis (property-based API testing from Docs/openapi.yaml) against the live `hub serve`.

Runs the `schemathesis` CLI from the interop venv with every check (`--checks all`: no 5xx, status
codes, content types, headers and bodies as the spec says, negative data refused, ignored auth, …)
and an admin token, bounded by `SCHEMATHESIS_MAX_EXAMPLES` examples per operation (default 25:
about 450 cases, ~15 s). Any failure fails the test with schemathesis' own report.

/sse runs separately, without a token: with one, its 200 is an endless event stream (Docs/sse.md);
the streaming success case is covered by test_sse.py instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from hubsupport import jwt
from support import REPO_ROOT

SPEC = REPO_ROOT / "Docs" / "openapi.yaml"


def run_schemathesis(hub, *arguments: str, refusals_only: bool = False) -> str:
    """Runs the schemathesis CLI on the spec against `hub` with every check; returns its output."""
    hub.check_alive()
    cli = Path(sys.executable).with_name("schemathesis")
    assert cli.exists(), f"schemathesis is not installed next to {sys.executable} (Tests/Interop/requirements.txt)"
    command = [
        str(cli), "run", str(SPEC),
        "--url", hub.url,
        "--checks", "all",
        *arguments,
        "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"),
        "--seed", os.environ.get("SCHEMATHESIS_SEED", "20261122"),
        "--workers", "1",
        "--generation-database", "none",
        "--request-timeout", "10",
        "--no-color",
    ]
    with tempfile.TemporaryDirectory() as scratch:  # reports and caches stay out of the repository
        result = subprocess.run(command, cwd=scratch, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"schemathesis failed (exit {result.returncode}):\n{output[-20000:]}"
    if refusals_only:
        # Only refusals are possible here, and schemathesis warns that it never got past them.
        counts = re.search(r"(\d+) generated, (\d+) passed\s*$", output, re.MULTILINE)
        assert counts and counts.group(1) == counts.group(2) and int(counts.group(1)) > 0, output[-5000:]
        warnings = re.findall(r"⚠️ (.*)", output)
        assert all(w.startswith("Authentication failed") for w in warnings), output[-5000:]
    else:
        assert "No issues found" in output, output[-5000:]
    hub.check_alive()
    return output


def test_openapi_conformance(hubd):
    # /sse is left out here: with a valid token its 200 is an event stream that never ends, which
    # schemathesis would wait on until its request timeout. test_openapi_sse_refusals covers it.
    run_schemathesis(hubd, "--header", f"Authorization: Bearer {jwt('schemathesis', ['admin'])}",
                     "--exclude-path-regex", "^/sse")


def test_openapi_sse_refusals(hubd):
    """/sse with a token whose room grant no room can match (a 129-character name, longer than any
    valid room): every generated request gets a finite answer — 400 for a bad path or query, 403
    for a valid one, 401 without the token, 405 for another method — which must match the spec."""
    token = jwt("schemathesis", ["admin"], rooms=["r" * 129])
    output = run_schemathesis(hubd, "--header", f"Authorization: Bearer {token}", "--include-path-regex", "^/sse",
                              refusals_only=True)
    assert "Selected: 2/" in output, output[-5000:]
