"""The documentation's tables follow the code: every variable the app reads has a row in
docs/configuration.md, and the process commands in docs/operations.md and docs/deploy.md are the
Procfile lines."""

from __future__ import annotations

import re

from tests.deploy import ROOT, normalise_command, process_types, settings_variables

HEADING = "## Configuration (environment variables)"
DOCS = ROOT / "docs"


def documented_variables() -> dict[str, list[str]]:
    """Variable -> the rest of its row, from the first column of the configuration table."""
    readme = (DOCS / "configuration.md").read_text()
    assert HEADING in readme, f"docs/configuration.md has no {HEADING!r} section"
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
    assert not missing, f"add {sorted(missing)} to docs/configuration.md"


def test_every_variable_of_the_procfiles_has_a_row() -> None:
    used = set()
    for line in process_types().values():
        used |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", line))
    assert used >= {"PORT", "WEB_CONCURRENCY", "WORKER_CONCURRENCY"}
    missing = used - set(documented_variables())
    assert not missing, f"add {sorted(missing)} to docs/configuration.md"


def test_every_row_has_a_default_and_the_services_that_need_it() -> None:
    for name, (default, services, meaning) in documented_variables().items():
        assert default and meaning, f"{name}: default and meaning must be filled in"
        assert re.search(r"\b(web|worker|beat|bot|release|all|run command)\b", services), (
            f"{name}: say which services need it"
        )


def _section(title: str, page: str) -> str:
    readme = (DOCS / page).read_text()
    assert f"\n## {title}\n" in readme, f"docs/{page} has no '## {title}' section"
    return readme.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def _unwrap(command: str) -> str:
    """``bash -c "<line>"`` (how Railway runs a line with variables from a Dockerfile) -> ``<line>``."""
    match = re.fullmatch(r'bash -c "(.*)"', command.strip())
    return normalise_command(match.group(1) if match else command)


def test_the_processes_table_shows_the_procfile_lines() -> None:
    rows = {}
    for line in _section("Processes (Procfile / Procfile.worker)", "operations.md").splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")] if line.startswith("| `") else []
        if len(cells) >= 2:
            rows[cells[0].strip("`")] = normalise_command(cells[1].split("`")[1])
    for kind, command in process_types().items():
        assert rows.get(kind) == normalise_command(command), f"docs/operations.md processes table: {kind}"


def test_railway_start_commands_are_the_procfile_lines() -> None:
    section = _section("Deploy on Railway", "deploy.md")
    processes = {"bot": "python -m bot", **process_types()}  # the bot's line until it is in Procfile
    subsections = re.split(r"\n### \d+\. ", section)
    for kind in ("web", "worker", "beat", "bot"):
        body = next((s for s in subsections if s.startswith(f"{kind}\n")), None)
        assert body, f"Deploy on Railway has no '### N. {kind}' subsection"
        bullet = body.split("**Start command**", 1)[1].split("\n- ", 1)[0]
        assert _unwrap(re.findall(r"`([^`]+)`", bullet)[0]) == normalise_command(processes[kind]), kind
    predeploy = section.split("**Pre-deploy command**", 1)[1].split("\n- ", 1)[0]
    assert _unwrap(re.findall(r"`([^`]+)`", predeploy)[0]) == normalise_command(processes["release"])
