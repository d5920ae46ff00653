#!/usr/bin/env python3
"""Set-up for `make demo`, `make test` and the other targets: Odoo 18, PostgreSQL, Chromium.

Usage (by scripts/common.sh): ``python3 scripts/bootstrap.py [--postgres] [--chromium] [--lint]``.
It prints ``KEY=value`` lines on stdout for the shell to evaluate (``PYTHON``, ``ODOO_ROOT``,
``PGHOST``) and one line per step on stderr. Every failure is one sentence saying what to do,
and exits 2.

Where Odoo 18 comes from, in this order:

1. an Odoo 18 that the base interpreter (``$PYTHON``, else ``python3``) already imports, unless
   ``VBOT_VENV=1`` asks for the project's own environment;
2. the project's ``.venv/``, built once from ``ODOO_SOURCE`` (an Odoo 18.0 source folder or a
   ``.tar.gz``/``.tar.xz``/``.zip`` archive of one);
3. without ``ODOO_SOURCE``: a shallow clone of the 18.0 branch of github.com/odoo/odoo.

``.venv`` is trusted only once its stamp (``.venv/vbot-stamp.json``) is written, as the very last
step of a successful build; a build that failed half-way is removed and started again by the next
run. A complete ``.venv`` is reused as it is: the second run installs nothing (if only this
project's ``requirements.txt`` changed, just that file is installed again).

Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv"
STAMP = VENV / "vbot-stamp.json"
UNPACKED = REPO / ".venv-unpacking"  # an archive is unpacked and checked here, then moved in
LOG = REPO / "var" / "setup.log"
ODOO_GIT = "https://github.com/odoo/odoo.git"
ODOO_BRANCH = "18.0"
SUPPORTED = ((3, 10), (3, 11), (3, 12))
# Odoo's requirements.txt pins packages for Debian's Python; from PyPI, on Python 3.10-3.12, these
# lines need replacing. This table is the one place that says so (see README, "Set-up").
#   "name" or "name==version" in Odoo's file -> (replacement requirement, or None to leave the
#   line out; why). "{version}" in a replacement is the version Odoo pins.
ODOO_REQUIREMENT_CHANGES = {
    "gevent==21.8.0": (
        "gevent==21.12.0",
        "21.8.0 (Python 3.10 only) has no wheel and no longer compiles; 21.12.0 has wheels",
    ),
    "psycopg2": (
        "psycopg2-binary=={version}",
        "psycopg2 builds only with libpq-dev and a compiler; the binary wheel is the same code",
    ),
    "cbor2": (
        "cbor2==5.6.2",
        "cbor2 5.4.2 has no wheel and does not build with today's setuptools",
    ),
    "python-ldap": (None, "needs libldap2-dev/libsasl2-dev; only Odoo's auth_ldap module uses it"),
}
CONSTRAINTS = REPO / "scripts" / "odoo-constraints.txt"  # setuptools<70 for Odoo's old sdists
# Bump when the build steps change: a stamp of another build version is rebuilt.
BUILD_VERSION = 3

_started = time.monotonic()
_did_work = False


class SetupError(Exception):
    """One sentence telling the user what to do."""


def step(message: str) -> None:
    global _did_work
    _did_work = True
    print(f"[setup] {message}", file=sys.stderr, flush=True)


def emit(key: str, value: str) -> None:
    print(f"{key}={_shell_quote(value)}")


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def run(cmd: list[str], what: str, *, env: dict[str, str] | None = None, cwd: Path | None = None):
    """Run a command, its output appended to var/setup.log; SetupError(what) if it fails."""
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOG.open("a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(cmd)}\n")
        log.flush()
        try:
            result = subprocess.run(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, check=False
            )
        except FileNotFoundError as error:
            raise SetupError(f"{what}: {error.filename} is not installed.") from None
    if result.returncode != 0:
        raise SetupError(f"{what} (details in {_rel(LOG)}).")


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _apt_install(packages: list[str], why: str) -> None:
    step(f"Installing {' '.join(packages)} with apt ({why})")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], "apt-get update failed (no network?)", env=env)
    run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        f"apt-get could not install {' '.join(packages)}",
        env=env,
    )


def _can_apt() -> bool:
    return _is_root() and shutil.which("apt-get") is not None


# ------------------------------------------------------------------------------------------------
# Python and Odoo
# ------------------------------------------------------------------------------------------------


def _odoo_of(python: str) -> str | None:
    """The folder holding the ``odoo`` package that ``python`` imports, if it is Odoo 18."""
    try:
        out = subprocess.run(
            [
                python,
                "-c",
                "import os, odoo.release as r; assert r.version_info[0] == 18; "
                "import odoo; print(os.path.dirname(os.path.dirname(os.path.abspath(odoo.__file__))))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (
        out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else None
    )


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        major, minor = out.stdout.split()
        return int(major), int(minor)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None


def base_python() -> str:
    """The interpreter that builds .venv: $PYTHON, else the first of python3, 3.12, 3.11, 3.10
    whose version Odoo 18 supports."""
    if os.environ.get("PYTHON"):
        candidates = [os.environ["PYTHON"]]
    else:
        candidates = ["python3", "python3.12", "python3.11", "python3.10"]
    seen = []
    for name in candidates:
        path = shutil.which(name) or (name if os.path.isfile(name) else None)
        if not path:
            continue
        version = _version_of(path)
        if version in SUPPORTED:
            return path
        seen.append(f"{name} is {'.'.join(map(str, version)) if version else 'unusable'}")
    raise SetupError(
        "Odoo 18 needs Python 3.10, 3.11 or 3.12 with venv"
        + (f" ({'; '.join(seen)})" if seen else "")
        + ": install one (e.g. apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.11."
    )


def _file_digest(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()[:16]


def _source_identity(source: str | None) -> str:
    if not source:
        return f"git:{ODOO_GIT}#{ODOO_BRANCH}"
    path = Path(source).expanduser().resolve()
    if path.is_file():
        stat = path.stat()
        return f"file:{path}:{stat.st_size}:{int(stat.st_mtime)}"
    return f"dir:{path}"


def _read_stamp() -> dict | None:
    try:
        stamp = json.loads(STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def ensure_venv() -> tuple[str, str]:
    """The project's .venv (built if missing or half-built): (python, odoo root folder)."""
    source = os.environ.get("ODOO_SOURCE") or None
    odoo_src = _odoo_source(source)  # a wrong ODOO_SOURCE fails here, before anything changes
    stamp = _read_stamp()
    python = VENV / "bin" / "python"
    if stamp is None:
        if VENV.exists():
            step("Removing an unfinished .venv (an earlier set-up did not complete)")
    elif source and _source_identity(source) != stamp.get("source"):
        step(f"ODOO_SOURCE is not what .venv was built from: building .venv again from {source}")
    elif stamp.get("build") != BUILD_VERSION or not python.exists():
        step("The set-up changed since .venv was built: building it again")
        source = source or _recorded_source(stamp)
        odoo_src = _odoo_source(source)
    elif _odoo_of(str(python)) != stamp.get("odoo_root"):
        step("Odoo no longer imports in .venv: building it again")
        source = source or _recorded_source(stamp)
        odoo_src = _odoo_source(source)
    else:
        requirements = _file_digest(REPO / "requirements.txt")
        if stamp.get("requirements") != requirements:
            step("requirements.txt changed: installing it into .venv")
            _pip(
                str(python),
                ["-r", str(REPO / "requirements.txt")],
                "pip could not install requirements.txt",
            )
            stamp["requirements"] = requirements
            STAMP.write_text(json.dumps(stamp, indent=1), encoding="utf-8")
        return str(python), stamp["odoo_root"]
    try:
        odoo_src = _prepare_source(source, odoo_src)
        shutil.rmtree(VENV, ignore_errors=True)
        try:
            return _build_venv(source, odoo_src)
        except BaseException:
            # Never leave a half-built environment that a later run could trust.
            shutil.rmtree(VENV, ignore_errors=True)
            raise
    finally:
        shutil.rmtree(UNPACKED, ignore_errors=True)


def _recorded_source(stamp: dict) -> str | None:
    """The ODOO_SOURCE an earlier build used, if it is still there (else GitHub)."""
    kind, _, rest = str(stamp.get("source") or "").partition(":")
    if kind == "file":
        path = rest.rsplit(":", 2)[0]
    elif kind == "dir":
        path = rest
    else:
        return None
    return path if Path(path).exists() else None


def _build_venv(source: str | None, odoo_src: Path | None) -> tuple[str, str]:
    base = base_python()
    version = ".".join(map(str, _version_of(base) or ()))
    step(f"Creating .venv with Python {version} ({base})")
    run([base, "-m", "venv", str(VENV)], f"{base} -m venv failed: install python3-venv")
    python = str(VENV / "bin" / "python")
    src = VENV / "src"
    src.mkdir()
    if odoo_src is None:
        step(f"Cloning Odoo {ODOO_BRANCH} from GitHub (shallow, a few minutes)")
        if not shutil.which("git"):
            raise SetupError(
                "git is not installed: install git, or set ODOO_SOURCE to an Odoo 18.0 source archive."
            )
        run(
            [
                "git",
                "clone",
                "--quiet",
                "--depth",
                "1",
                "--branch",
                ODOO_BRANCH,
                ODOO_GIT,
                str(src / "odoo"),
            ],
            f"Could not clone {ODOO_GIT} (no network?): set ODOO_SOURCE to an Odoo 18.0 source folder or archive",
        )
        _check_odoo_root(src / "odoo", ODOO_GIT)
        odoo_root = src / "odoo"
    elif odoo_src.is_relative_to(UNPACKED):
        odoo_root = src / odoo_src.name
        odoo_src.rename(odoo_root)
    else:
        odoo_root = odoo_src  # the user's own source folder, used where it is
    requirements = _odoo_requirements(odoo_root)
    step(f"Installing Odoo's Python requirements into .venv ({len(requirements)} packages, pip)")
    req_file = VENV / "odoo-requirements.txt"
    req_file.write_text("\n".join(requirements) + "\n", encoding="utf-8")
    _pip(
        python, ["--upgrade", "pip", "wheel"], "pip could not upgrade itself in .venv (no network?)"
    )
    _pip(
        python,
        ["-r", str(req_file), "-r", str(REPO / "requirements.txt")],
        "pip could not install Odoo's requirements (no network, or a package without a wheel for "
        f"Python {version}?)",
    )
    # Odoo itself: a .pth file puts its source folder on the path (no build, nothing copied).
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "odoo18-source.pth").write_text(str(odoo_root) + "\n", encoding="utf-8")
    found = _odoo_of(python)
    if found != str(odoo_root):
        raise SetupError(
            f"Odoo 18 does not import in .venv (details in {_rel(LOG)}); run `make clean-env` and try again."
        )
    missing = subprocess.run(
        [
            python,
            "-c",
            "import psycopg2, lxml, werkzeug, phonenumbers, requests, pytest, pytest_odoo, websocket",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if missing.returncode != 0:
        raise SetupError(
            f"A requirement does not import in .venv: {missing.stderr.strip().splitlines()[-1]}."
        )
    STAMP.write_text(
        json.dumps(
            {
                "build": BUILD_VERSION,
                "source": _source_identity(source),
                "odoo_root": str(odoo_root),
                "python": version,
                "requirements": _file_digest(REPO / "requirements.txt"),
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    return python, str(odoo_root)


def _pip(python: str, args: list[str], what: str) -> None:
    env = dict(os.environ, PIP_CONSTRAINT=str(CONSTRAINTS), PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    run([python, "-m", "pip", "install", "--quiet", *args], what, env=env)


def _odoo_source(source: str | None) -> Path | None:
    if not source:
        return None
    path = Path(source).expanduser()
    if not path.exists():
        raise SetupError(
            f"ODOO_SOURCE={source} does not exist: point it at an Odoo 18.0 source folder "
            "or a .tar.gz/.tar.xz/.zip of one."
        )
    path = path.resolve()
    if path.is_dir():
        root = _find_odoo_root(path)
        if root is None:
            raise SetupError(
                f"ODOO_SOURCE={source} holds no Odoo source (no odoo/release.py in it): "
                "point it at an Odoo 18.0 source folder or archive."
            )
        _check_odoo_root(root, f"ODOO_SOURCE={source}")
        return root
    if not (tarfile.is_tarfile(path) or zipfile.is_zipfile(path)):
        raise SetupError(
            f"ODOO_SOURCE={source} is neither a folder nor a .tar.gz/.tar.xz/.zip archive: "
            "point it at an Odoo 18.0 source."
        )
    return path


def _prepare_source(source: str | None, odoo_src: Path | None) -> Path | None:
    """An archive unpacked and checked beside .venv (UNPACKED), before .venv is touched."""
    if odoo_src is None or odoo_src.is_dir():
        return odoo_src
    shutil.rmtree(UNPACKED, ignore_errors=True)
    step(f"Unpacking Odoo 18.0 from {odoo_src}")
    try:
        root = _unpack(odoo_src, UNPACKED)
        _check_odoo_root(root, f"ODOO_SOURCE={source}")
    except BaseException:
        shutil.rmtree(UNPACKED, ignore_errors=True)
        raise
    return root


def _find_odoo_root(folder: Path) -> Path | None:
    """The folder of ``folder`` (itself or one level down) holding odoo/release.py."""
    for candidate in (folder, *sorted(p for p in folder.iterdir() if p.is_dir())):
        if (candidate / "odoo" / "release.py").is_file():
            return candidate
    return None


def _unpack(archive: Path, target: Path) -> Path:
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(target)
        else:
            with tarfile.open(archive) as tf:
                if hasattr(tarfile, "data_filter"):
                    tf.extractall(target, filter="data")
                else:  # Python < 3.10.12 / 3.11.4
                    tf.extractall(target)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as error:
        raise SetupError(
            f"ODOO_SOURCE={archive} could not be unpacked ({error}): download it again."
        ) from None
    root = _find_odoo_root(target)
    if root is None:
        raise SetupError(
            f"ODOO_SOURCE={archive} holds no Odoo source (no odoo/release.py in it): "
            "point it at an Odoo 18.0 source archive."
        )
    return root


def _check_odoo_root(root: Path, shown: str) -> None:
    release = (root / "odoo" / "release.py").read_text(encoding="utf-8", errors="replace")
    namespace: dict = {}
    try:
        exec(compile(release, "release.py", "exec"), namespace)
        major = namespace["version_info"][0]
    except Exception:
        major = None
    if major != 18:
        raise SetupError(
            f"{shown} is Odoo {major or 'of unknown version'}, not 18.0: point ODOO_SOURCE at an Odoo 18.0 source."
        )
    if not (root / "requirements.txt").is_file() or not (root / "addons" / "web").is_dir():
        raise SetupError(
            f"{shown} lacks requirements.txt or addons/: use a complete Odoo 18.0 source."
        )


def _odoo_requirements(root: Path) -> list[str]:
    """Odoo's requirements.txt with ODOO_REQUIREMENT_CHANGES applied (markers kept)."""
    lines = []
    for raw in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, _, marker = line.partition(";")
        name = requirement.split("=", 1)[0].split("<", 1)[0].split(">", 1)[0].strip().lower()
        pinned = "".join(requirement.split()).lower()
        change = ODOO_REQUIREMENT_CHANGES.get(pinned) or ODOO_REQUIREMENT_CHANGES.get(name)
        if change:
            replacement = change[0]
            if replacement is None:
                continue
            version = requirement.partition("==")[2].strip()
            requirement = replacement.format(version=version)
        lines.append(
            f"{requirement.strip()} ; {marker.strip()}" if marker.strip() else requirement.strip()
        )
    return lines


def ensure_odoo() -> str:
    """Choose the interpreter and Odoo; emit PYTHON and ODOO_ROOT; return the interpreter."""
    if os.environ.get("VBOT_VENV") != "1":
        candidate = os.environ.get("PYTHON") or shutil.which("python3")
        root = _odoo_of(candidate) if candidate else None
        if root:
            _ensure_requirements(candidate)
            emit("PYTHON", candidate)
            emit("ODOO_ROOT", root)
            return candidate
    python, root = ensure_venv()
    emit("PYTHON", python)
    emit("ODOO_ROOT", root)
    return python


def _ensure_requirements(python: str) -> None:
    """A user's own Odoo: install this project's requirements.txt into it when missing."""
    probe = subprocess.run(
        [python, "-c", "import phonenumbers, requests, pytest, pytest_odoo, websocket"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        step(f"Installing requirements.txt into {python} (it has Odoo 18)")
        run(
            [python, "-m", "pip", "install", "--quiet", "-r", str(REPO / "requirements.txt")],
            f"pip could not install requirements.txt into {python}",
        )


# ------------------------------------------------------------------------------------------------
# PostgreSQL
# ------------------------------------------------------------------------------------------------


def _answers(host: str, port: int) -> bool:
    if host.startswith("/"):
        return Path(host, f".s.PGSQL.{port}").exists()
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _local(host: str) -> bool:
    return host.startswith("/") or host in ("127.0.0.1", "localhost", "::1")


def _clusters() -> list[tuple[str, str, int, str]]:
    """(version, name, port, status) of Debian's installed clusters (pg_lsclusters)."""
    if not shutil.which("pg_lsclusters"):
        return []
    out = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False
    )
    clusters = []
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2].isdigit():
            clusters.append((parts[0], parts[1], int(parts[2]), parts[3]))
    return clusters


def ensure_postgres() -> None:
    host = os.environ.get("PGHOST") or "127.0.0.1"
    port = int(os.environ.get("PGPORT") or 5432)
    if not _answers(host, port):
        if not _local(host):
            raise SetupError(
                f"PostgreSQL does not answer on {host}:{port}: start it there, or unset PGHOST to use a local server."
            )
        clusters = _clusters()
        if not clusters:
            if not _can_apt():
                raise SetupError(
                    f"PostgreSQL does not answer on {host}:{port} and none is installed: install it "
                    "(sudo apt-get install postgresql) and run this again, or set PGHOST/PGPORT."
                )
            _apt_install(["postgresql"], "no PostgreSQL server is installed")
            clusters = _clusters()
            if not clusters:
                raise SetupError(
                    "apt installed PostgreSQL but created no cluster: run "
                    "`pg_createcluster --start <version> main` and try again."
                )
        clusters = [cluster for cluster in clusters if cluster[2] == port]
        if not clusters:
            raise SetupError(
                f"No installed PostgreSQL cluster uses port {port} (pg_lsclusters): set PGPORT "
                "to the port of yours, or create one (pg_createcluster --start <version> main)."
            )
        for version, name, _port, status in clusters:
            if status == "online":
                continue
            command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"]
            if not _is_root():
                raise SetupError(
                    f"PostgreSQL {version}/{name} is installed but stopped: start it "
                    f"(sudo {' '.join(command)}) and run this again."
                )
            step(f"Starting PostgreSQL {version}/{name}")
            run(command, f"Could not start PostgreSQL {version}/{name}")
        for _ in range(60):
            if _answers(host, port):
                break
            time.sleep(0.5)
        else:
            raise SetupError(
                f"PostgreSQL was started but does not answer on {host}:{port}: check its log in /var/log/postgresql."
            )
    _ensure_role(host, port)


def _psql(host: str, port: int, user: str, sql: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PGCONNECT_TIMEOUT="5")
    return subprocess.run(
        ["psql", "-h", host, "-p", str(port), "-U", user, "-d", "postgres", "-Atqc", sql],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )


_CAN_CREATE_DB = "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"


def _ensure_role(host: str, port: int) -> None:
    """A role for the current user that may create databases (Odoo refuses to run as postgres)."""
    user = os.environ.get("PGUSER") or getpass.getuser()
    if user == "postgres":
        raise SetupError(
            "Odoo refuses to connect as the postgres role: set PGUSER to another role (it is created if missing)."
        )
    if not shutil.which("psql"):
        return  # nothing to check with; Odoo says what is wrong if the role is missing

    def may_create_databases():
        probe = _psql(host, port, user, _CAN_CREATE_DB)
        return probe, probe.returncode == 0 and probe.stdout.strip() == "t"

    probe, allowed = may_create_databases()
    if allowed:
        emit("PGHOST", host)
        return
    error = probe.stderr.strip()
    socket_dir = "/var/run/postgresql"
    if (
        probe.returncode != 0
        and "password" in error
        and not os.environ.get("PGHOST")
        and _answers(socket_dir, port)
    ):
        # A fresh Debian server asks passwords on TCP; its socket trusts the OS user (peer).
        step(f"PostgreSQL asks a password on {host}:{port}: using its Unix socket instead")
        host = socket_dir
        probe, allowed = may_create_databases()
        if allowed:
            emit("PGHOST", host)
            return
        error = probe.stderr.strip()
    if probe.returncode == 0:
        raise SetupError(
            f'The PostgreSQL role {user} may not create databases: ALTER ROLE "{user}" CREATEDB (as a superuser).'
        )
    if "does not exist" not in error:
        raise SetupError(
            f"Cannot connect to PostgreSQL on {host}:{port} as {user}: "
            f"{error.splitlines()[-1] if error else 'unknown error'}."
        )
    sql = f'CREATE ROLE "{user}" LOGIN CREATEDB'
    created = _psql(host, port, "postgres", sql)
    if created.returncode != 0 and _is_root() and shutil.which("runuser"):
        created = subprocess.run(
            ["runuser", "-u", "postgres", "--", "psql", "-p", str(port), "-Atqc", sql],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    if created.returncode != 0:
        raise SetupError(
            f"PostgreSQL has no role {user} and it could not be created: run "
            f"sudo -u postgres createuser --createdb {user}"
        )
    step(f"Created the PostgreSQL role {user}")
    emit("PGHOST", host)


# ------------------------------------------------------------------------------------------------
# Chromium (browser tours) and lint tools
# ------------------------------------------------------------------------------------------------

BROWSERS = ("google-chrome", "chromium", "chromium-browser", "google-chrome-stable")  # Odoo's list


def ensure_chromium() -> None:
    if any(shutil.which(name) for name in BROWSERS):
        return
    if not _can_apt():
        raise SetupError(
            "The browser tests need Chromium: install it (sudo apt-get install chromium) and run this again."
        )
    _apt_install(["chromium"], "the browser tests need it")


def ensure_lint(python: str) -> None:
    probe = subprocess.run(
        [python, "-m", "pre_commit", "--version"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        step("Installing pre-commit into the environment")
        run(
            [python, "-m", "pip", "install", "--quiet", "pre-commit"],
            "pip could not install pre-commit",
        )
    if not (REPO / "node_modules" / "prettier").is_dir():
        if not shutil.which("npm"):
            if not _can_apt():
                raise SetupError(
                    "make lint needs npm for prettier: install Node.js and npm (sudo apt-get install npm)."
                )
            _apt_install(["npm"], "prettier runs on Node.js")
        step("Installing prettier (npm ci)")
        run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            "npm could not install prettier (no network?)",
            cwd=REPO,
        )


def main(argv: list[str]) -> int:
    wanted = set(argv)
    try:
        python = ensure_odoo()
        if "--postgres" in wanted:
            ensure_postgres()
        if "--chromium" in wanted:
            ensure_chromium()
        if "--lint" in wanted:
            ensure_lint(python)
    except SetupError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ERROR: set-up interrupted; the next run starts it again.", file=sys.stderr)
        return 2
    if _did_work:
        step(f"Set-up done in {time.monotonic() - _started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
