"""The GraphQL over HTTP spec's own audit suite (graphql-http's serverAudits, pinned in
tests/audit/package.json) against a live API process: every audit ok, not one notice,
warning or error.

The suite needs node and tests/audit/node_modules (scripts/fetch-audit.sh installs them; the
bootstrap and .ci/run run it). Without node the test is skipped, and says why; with node but
without the package it fails, so CI cannot pass it by skipping.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from tests.support import ROOT, ChildProcess

AUDIT_DIR = ROOT / "tests" / "audit"
NODE = shutil.which("node")
AUDITS = 61  # graphql-http 1.23.1's serverAudits


def _installed(audit_dir: Path) -> bool:
    return (audit_dir / "node_modules" / "graphql-http" / "package.json").is_file()


@pytest.mark.skipif(NODE is None, reason="node is not installed: the GraphQL over HTTP audit suite runs on node")
async def test_the_api_passes_every_graphql_over_http_audit(api_process: tuple[ChildProcess, str]) -> None:
    assert NODE is not None
    assert _installed(AUDIT_DIR), "graphql-http is not installed in tests/audit: run scripts/fetch-audit.sh"
    proc = await asyncio.create_subprocess_exec(
        NODE, str(AUDIT_DIR / "audit.mjs"), api_process[1] + "/graphql",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode(errors="replace")
    results = json.loads(out)
    not_ok = [f"{r['id']} {r['status']}: {r['name']} ({r.get('reason')})" for r in results if r["status"] != "ok"]
    assert not_ok == [], "\n".join(not_ok)
    assert len(results) == AUDITS
