"""docker-compose.dev.yml runs the production topology: checked by reading it (CI has no Docker engine).

Its app services run the Procfile lines verbatim, get every variable the app needs when web, worker
and beat share no disk (read back through ``Settings.from_env``), and start in order behind
healthchecks; data lives in named volumes.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from socrate.config import Settings
from tests.deploy import ROOT, normalise_command, process_types, settings_variables

COMPOSE = ROOT / "docker-compose.dev.yml"
PROCESS_SERVICE = {"release": "migrate", "web": "api", "worker": "worker", "webhooks": "webhooks",
                   "beat": "beat", "bot": "bot"}  # fmt: skip
BOT_COMMAND = "python -m bot"  # the bot's Procfile line (issue 7), compared here until it is in Procfile
APP_SERVICES = ("api", "worker", "webhooks", "beat", "bot")
ONE_SHOTS = ("migrate", "createbuckets")
BACKING_SERVICES = ("postgres", "redis", "minio")
# Settings whose default only works for the embedded single-host run (see socrate/config.py).
REQUIRED_SETTINGS = {
    "DATABASE_URL": "the default is an embedded PostgreSQL inside each container, shared with nobody",
    "REDIS_URL": "no default: Celery refuses to start",
    "SECRET_KEY": "the default is a publicly known dev key",
    "STORAGE_BACKEND": "the default (local) is a disk the other services cannot see",
    "S3_BUCKET": "no default",
    "S3_ENDPOINT_URL": "the default is AWS itself, not MinIO",
}
BOTO3_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")  # read by boto3, not by Settings
# Variables an app service may set besides Settings': Procfile knobs, boto3's, the bot's token, libraries'.
OTHER_KNOWN = {"PORT", "WEB_CONCURRENCY", "WORKER_CONCURRENCY", "TELEGRAM_BOT_TOKEN", "HF_HUB_OFFLINE",
               *BOTO3_CREDENTIALS}  # fmt: skip


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def svc(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The file's services (named so as not to shadow conftest's ``services``)."""
    return compose["services"]


def interpolate(value: object) -> str:
    """What compose makes of a value with an empty shell environment: defaults, and ``$$`` -> ``$``."""

    def default(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return match.group("default") or ""

    pattern = r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}"
    return re.sub(pattern, default, str(value))


def command_of(service: dict[str, Any]) -> str:
    """The shell line a service runs: ``bash -c "<line>"`` as the platform runs a Procfile line."""
    command = service["command"]
    assert isinstance(command, list) and command[:2] == ["bash", "-c"] and len(command) == 3, command
    return command[2].replace("$$", "$")  # compose's escape; ${VAR:-x} stays for bash to expand


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "use the mapping form of environment"
    return {name: interpolate(value) for name, value in env.items()}


def test_every_service_of_the_topology_is_defined(svc: dict[str, dict[str, Any]]) -> None:
    missing = {*BACKING_SERVICES, *ONE_SHOTS, *APP_SERVICES} - set(svc)
    assert not missing, f"docker-compose.dev.yml lacks services {sorted(missing)}"


def test_each_procfile_process_runs_with_the_same_command(svc: dict[str, dict[str, Any]]) -> None:
    processes = process_types()
    unmapped = set(processes) - set(PROCESS_SERVICE)
    assert not unmapped, f"Procfile types {sorted(unmapped)} have no compose service in PROCESS_SERVICE"
    for kind, line in processes.items():
        service = PROCESS_SERVICE[kind]
        assert normalise_command(command_of(svc[service])) == normalise_command(line), (
            f"compose service {service!r} does not run the Procfile's {kind!r} line"
        )
    if "bot" not in processes:
        assert command_of(svc["bot"]) == BOT_COMMAND


def test_the_image_defaults_to_the_procfile_web_line() -> None:
    cmd = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    assert json.loads(cmd[4:])[:2] == ["bash", "-c"]
    assert normalise_command(json.loads(cmd[4:])[2]) == normalise_command(process_types()["web"])


def test_the_api_listens_on_port_with_its_healthcheck_on_healthz(svc: dict[str, dict[str, Any]]) -> None:
    api = svc["api"]
    port = env_of(api)["PORT"]
    assert any(str(p).endswith(f":{port}") for p in api["ports"])
    assert f"127.0.0.1:{port}/healthz" in " ".join(api["healthcheck"]["test"])


def test_required_settings_are_ones_the_app_reads() -> None:
    unknown = set(REQUIRED_SETTINGS) - settings_variables()
    assert not unknown, f"socrate/config.py no longer reads {sorted(unknown)}: update REQUIRED_SETTINGS"


@pytest.mark.parametrize("name", [*APP_SERVICES, "migrate"])
def test_app_services_get_a_complete_shared_configuration(name: str, svc: dict[str, Any]) -> None:
    env = env_of(svc[name])
    missing = [var for var in (*REQUIRED_SETTINGS, *BOTO3_CREDENTIALS) if not env.get(var)]
    assert not missing, f"{name} needs {missing} in this topology"
    unknown = set(env) - settings_variables() - OTHER_KNOWN
    assert not unknown, f"{name} sets {sorted(unknown)}, which nothing reads (typo?)"

    settings = Settings.from_env(env)
    assert settings.database_url.startswith("postgresql+psycopg2://")
    assert settings.storage_backend == "s3" and settings.s3_bucket
    assert settings.secret_key != Settings.secret_key
    hosts = {
        urlsplit(url).hostname for url in (env["DATABASE_URL"], env["REDIS_URL"], env["S3_ENDPOINT_URL"])
    }
    assert hosts == {"postgres", "redis", "minio"}, "URLs must point at this file's services"


def test_the_database_image_has_pgvector(svc: dict[str, dict[str, Any]]) -> None:
    """migrate creates the vector extension: a plain postgres image would refuse it."""
    image, _, tag = svc["postgres"]["image"].partition(":")
    assert image == "pgvector/pgvector" and int(tag.removeprefix("pg")) >= 15


def test_storage_credentials_and_bucket_match_minio(svc: dict[str, dict[str, Any]]) -> None:
    minio, bucket_job, api = env_of(svc["minio"]), env_of(svc["createbuckets"]), env_of(svc["api"])
    assert api["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert api["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]
    assert api["S3_BUCKET"] == bucket_job["S3_BUCKET"]
    assert "mc mb" in " ".join(svc["createbuckets"]["command"])


def test_dev_credentials_are_overridable_placeholders() -> None:
    text = COMPOSE.read_text()
    for var in ("POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "SECRET_KEY"):
        defaults = re.findall(rf"\$\{{{var}:-([^}}]*)\}}", text)
        assert defaults and all("dev-only" in value for value in defaults), var


def test_services_start_in_order_behind_healthchecks(svc: dict[str, dict[str, Any]]) -> None:
    for name in (*BACKING_SERVICES, "api", "worker", "beat"):
        assert svc[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in APP_SERVICES:
        assert svc[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "createbuckets": {"condition": "service_completed_successfully"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name
    assert svc["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert svc["createbuckets"]["depends_on"] == {"minio": {"condition": "service_healthy"}}
    for name in ONE_SHOTS:
        assert svc[name].get("restart") == "no", f"one-shot {name} must not restart"


def test_data_lives_in_named_volumes(compose: dict[str, Any], svc: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, path in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data"), ("minio", "/data")):
        mounts = dict(str(v).split(":", 1) for v in svc[name].get("volumes", []))
        assert path in mounts.values(), f"{name} does not keep {path} in a volume"
        source = next(src for src, dst in mounts.items() if dst == path)
        assert source in declared, f"{name}'s {source} is not a declared named volume"


def test_bot_is_opt_in_and_beat_is_single(svc: dict[str, dict[str, Any]]) -> None:
    assert svc["bot"].get("profiles") == ["bot"]
    assert "TELEGRAM_BOT_TOKEN" in svc["bot"]["environment"]
    for name in APP_SERVICES:
        if name != "bot":
            assert "TELEGRAM_BOT_TOKEN" not in (svc[name].get("environment") or {}), name
    assert svc["beat"].get("deploy", {}).get("replicas", 1) == 1


def test_ports_are_published_on_loopback_only(svc: dict[str, dict[str, Any]]) -> None:
    for name, service in svc.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"
