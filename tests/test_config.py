"""Configuration: argument > file > environment > default, and nothing read at import time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engram import ConfigError, Engram, TextTooLong
from engram.config import Config, resolve_config
from engram.embed.base import Embedder


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the per-user config dir at an empty folder so the machine's file never leaks in."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for key in list(__import__("os").environ):
        if key.startswith("ENGRAM_") or key == "OPENAI_API_KEY":
            monkeypatch.delenv(key)


def _file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "engram.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults() -> None:
    cfg = resolve_config(env={})
    assert cfg == Config()
    assert cfg.store_url().startswith("sqlite:///") and cfg.store_url().endswith("engram.db")


def test_env_over_default_with_types() -> None:
    cfg = resolve_config(env={"ENGRAM_PRESET": "dense", "ENGRAM_PORT": "9001",
                              "ENGRAM_DERIVE_RULES": "false", "ENGRAM_LLM_TIMEOUT": "2.5",
                              "ENGRAM_LLM_STAGE_MODELS": "extract=small, answer=big",
                              "ENGRAM_HOST": ""})
    assert (cfg.preset, cfg.port, cfg.derive_rules, cfg.llm_timeout) == ("dense", 9001, False, 2.5)
    assert cfg.llm_stage_models == {"extract": "small", "answer": "big"}
    assert cfg.host == Config().host  # an empty variable is ignored


def test_file_over_env(tmp_path: Path) -> None:
    p = _file(tmp_path, 'preset = "from-file"\nport = 7000\n')
    cfg = resolve_config(config_file=p, env={"ENGRAM_PRESET": "from-env", "ENGRAM_HOST": "0.0.0.0"})
    assert (cfg.preset, cfg.port, cfg.host) == ("from-file", 7000, "0.0.0.0")


def test_argument_over_file(tmp_path: Path) -> None:
    p = _file(tmp_path, '[engram]\npreset = "from-file"\nmax_text_bytes = 100\n')
    cfg = resolve_config(config_file=p, env={"ENGRAM_PRESET": "from-env"}, preset="from-arg",
                         max_text_bytes=None)
    assert cfg.preset == "from-arg"
    assert cfg.max_text_bytes == 100  # a None argument falls through


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    p = _file(tmp_path, 'preset = "named"\n')
    assert resolve_config(env={"ENGRAM_CONFIG": str(p)}).preset == "named"


def test_user_config_dir_file_is_found(tmp_path: Path) -> None:
    d = tmp_path / "xdg" / "engram"
    d.mkdir(parents=True)
    (d / "engram.toml").write_text('preset = "user-dir"\n', encoding="utf-8")
    assert resolve_config(env={}).preset == "user-dir"


def test_openai_key_alias() -> None:
    assert resolve_config(env={"OPENAI_API_KEY": "k1"}).llm_api_key == "k1"
    both = {"OPENAI_API_KEY": "k1", "ENGRAM_LLM_API_KEY": "k2"}
    assert resolve_config(env=both).llm_api_key == "k2"


@pytest.mark.parametrize(
    ("text", "kwargs"),
    [
        ("colour = 'red'\n", {}),  # unknown key in the file
        ("preset = \n", {}),  # not TOML
        ("port = 'abc'\n", {}),  # wrong type
        ("", {"no_such_setting": 1}),
    ],
)
def test_bad_settings_raise_config_error(
    tmp_path: Path, text: str, kwargs: dict[str, object]
) -> None:
    p = _file(tmp_path, text)
    with pytest.raises(ConfigError):
        resolve_config(config_file=p, env={}, **kwargs)


def test_missing_file_and_bad_env_raise_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        resolve_config(config_file=tmp_path / "absent.toml", env={})
    with pytest.raises(ConfigError):
        resolve_config(env={"ENGRAM_PORT": "eighty"})


def test_engram_reads_settings_when_constructed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder
) -> None:
    monkeypatch.setenv("ENGRAM_MAX_TEXT_BYTES", "50")
    with Engram(tmp_path / "a.db", embedder=embedder) as eg:
        assert eg.config.max_text_bytes == 50
        with pytest.raises(TextTooLong):
            eg.add("x" * 51, user_id="u")
    with Engram(tmp_path / "b.db", embedder=embedder, max_text_bytes=60) as eg:
        assert eg.config.max_text_bytes == 60  # argument beats environment
    monkeypatch.setenv("ENGRAM_STORE", str(tmp_path / "env.db"))
    with Engram(embedder=embedder) as eg:
        assert eg.store.url == f"sqlite:///{tmp_path / 'env.db'}"
    assert (tmp_path / "env.db").exists()


IMPORT_PROBE = r"""
import importlib, os, pkgutil, sys

class Spy(dict):
    seen = set()
    def __getitem__(self, k):
        Spy.seen.add(k); return dict.__getitem__(self, k)
    def get(self, k, d=None):
        Spy.seen.add(k); return dict.get(self, k, d)
    def __contains__(self, k):
        Spy.seen.add(k); return dict.__contains__(self, k)

spy = Spy(os.environ)
os.environ = spy
real_getenv = os.getenv
os.getenv = lambda k, d=None: (Spy.seen.add(k), real_getenv(k, d))[1]

import engram
failed = []
for m in pkgutil.walk_packages(engram.__path__, "engram."):
    if m.name.endswith("__main__"):
        continue
    try:
        importlib.import_module(m.name)
    except ImportError as exc:  # an optional extra that is not installed
        failed.append(m.name)
touched = sorted(k for k in Spy.seen if k.startswith("ENGRAM") or k == "OPENAI_API_KEY")
print("TOUCHED", touched)
print("SKIPPED", failed)
"""


def test_nothing_is_read_at_import_time(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ENGRAM_CONFIG": str(tmp_path / "missing.toml"),
        "ENGRAM_PORT": "not-a-number",
        "ENGRAM_STORE": "bogus://nowhere",
        "OPENAI_API_KEY": "sk-should-not-be-read",
    }
    out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], env=env, capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "TOUCHED []" in out.stdout, out.stdout
    assert not list(tmp_path.glob("*.db"))
