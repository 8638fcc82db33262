"""The deployment files name commands and settings that exist."""

from __future__ import annotations

import re
import shlex

import pytest

from attrap.config import FILE_KEYS
from tests.conftest import ROOT, run_cli

UNITS = sorted((ROOT / "deploy").glob("*.service"))


def _commands() -> set[tuple[str, ...]]:
    """Every attrap command line the compose file and the systemd units run."""
    out: set[tuple[str, ...]] = set()
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    for m in re.finditer(r"command: \[(.*?)\]", compose):
        out.add(tuple(a.strip().strip('"') for a in m.group(1).split(",")))
    for unit in UNITS:
        for m in re.finditer(r"^Exec\w+=-?\S*/attrap (.*)$", unit.read_text(encoding="utf-8"), re.M):
            out.add(tuple(shlex.split(m.group(1))))
    return out


def test_compose_runs_postgres_a_scheduler_and_two_workers():
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert re.search(r"^  db:\n    image: postgres:", compose, re.M)
    assert re.search(r'^  scheduler:\n    <<: \*attrap\n    command: \["run"\]', compose, re.M)
    assert re.search(r"^  worker:\n(    .*\n)*?      replicas: 2", compose, re.M)
    assert "postgresql+psycopg://" in compose


@pytest.mark.parametrize("args", sorted(_commands()), ids=" ".join)
def test_each_deployed_command_exists_with_its_options(args, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "ATTRAP_DATA_DIR": str(tmp_path)}
    proc = run_cli(*args, "--help", env=env, check=False)
    assert proc.returncode == 0, proc.stderr


def test_units_point_at_the_documented_config_file():
    for unit in UNITS:
        text = unit.read_text(encoding="utf-8")
        assert "Environment=ATTRAP_CONFIG=/etc/attrap/attrap.toml" in text, unit.name
        assert "User=attrap" in text and "NoNewPrivileges=yes" in text, unit.name


def test_dockerfile_runs_attrap_as_a_user_with_french_ocr():
    docker = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "tesseract-ocr-fra" in docker and re.search(r"^USER attrap$", docker, re.M)
    assert 'ENTRYPOINT ["attrap"]' in docker and 'CMD ["run"]' in docker


def test_every_setting_of_the_example_file_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for names in FILE_KEYS.values():
        for var in names.values():
            assert f"`{var}`" in readme, var
