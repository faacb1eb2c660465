"""schemathesis (property-based API testing from Docs/openapi.yaml) against the live `hub serve`.

Runs the `schemathesis` CLI from the interop venv with every check (`--checks all`: no 5xx, status
codes, content types, headers and bodies as the spec says, negative data refused, ignored auth, …)
and an admin token, bounded by `SCHEMATHESIS_MAX_EXAMPLES` examples per operation (default 25:
about 450 cases, ~15 s). Any failure fails the test with schemathesis' own report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hubsupport import jwt
from support import REPO_ROOT

SPEC = REPO_ROOT / "Docs" / "openapi.yaml"


def test_openapi_conformance(hubd):
    hubd.check_alive()
    cli = Path(sys.executable).with_name("schemathesis")
    assert cli.exists(), f"schemathesis is not installed next to {sys.executable} (Tests/Interop/requirements.txt)"
    token = jwt("schemathesis", ["admin"])
    command = [
        str(cli), "run", str(SPEC),
        "--url", hubd.url,
        "--checks", "all",
        "--header", f"Authorization: Bearer {token}",
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
    assert "No issues found" in output, output[-5000:]
    hubd.check_alive()
