"""The README's configuration table documents every variable the app reads: a new setting needs a row."""

from __future__ import annotations

import re

from tests.deploy import ROOT, process_types, settings_variables

HEADING = "## Configuration (environment variables)"


def documented_variables() -> dict[str, list[str]]:
    """Variable -> the rest of its row, from the first column of the README's configuration table."""
    readme = (ROOT / "README.md").read_text()
    assert HEADING in readme, f"README has no {HEADING!r} section"
    section = readme.split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if not line.startswith("|") or set(line) <= {"|", "-", " "}:
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]):
            assert name not in rows, f"{name} has two rows in the configuration table"
            rows[name] = cells[1:]
    return rows


def test_the_extraction_finds_the_settings_we_know() -> None:
    found = settings_variables()
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SESSION_COOKIE_SECURE", "MAX_UPLOAD_MB"} <= found
    assert len(found) >= 30


def test_every_setting_in_config_py_has_a_row() -> None:
    missing = settings_variables() - set(documented_variables())
    assert not missing, f"add {sorted(missing)} to the README's configuration table"


def test_every_variable_of_the_procfiles_has_a_row() -> None:
    used = set()
    for line in process_types().values():
        used |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", line))
    assert used >= {"PORT", "WEB_CONCURRENCY", "WORKER_CONCURRENCY"}
    missing = used - set(documented_variables())
    assert not missing, f"add {sorted(missing)} to the README's configuration table"


def test_every_row_has_a_default_and_the_services_that_need_it() -> None:
    for name, (default, services, meaning) in documented_variables().items():
        assert default and meaning, f"{name}: default and meaning must be filled in"
        assert re.search(r"\b(web|worker|beat|bot|release|all|run command)\b", services), (
            f"{name}: say which services need it"
        )
