"""The service quick start of README.md runs as written, and a key the server refuses is refused with the rule.

The README once exported a 13-character key, which the server refuses (keys must be 16 characters or more,
which neither README.md nor docs/api.md said), and used a ``$JOB`` it never set (issue 14). Here the README's
own ``sh`` block is run by bash in a folder holding a ``clip.mp4``, on a free port instead of 8000 and with
the rule-based stand-in models (tests/fake_analysis.py) instead of the networks; nothing else is changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from api_server import ROOT, TESTS, free_port

from app.core.config import MIN_API_KEY_CHARS, ConfigError, load_settings


def _sh_blocks(doc: Path, after: str) -> list[str]:
    text = doc.read_text()
    return re.findall(r"```sh\n(.*?)```", text[text.index(after):], re.S)


def _env(**extra: str) -> dict[str, str]:
    """The caller's environment without its SOUNDCUE_* settings, with this checkout's ``soundcue`` first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOUNDCUE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(TESTS)])
    return {**env, **extra}


def test_the_readme_service_block_runs_as_written(tmp_path: Path, knocks_mp4: Path) -> None:
    block = _sh_blocks(ROOT / "README.md", "## Service")[0]
    port = str(free_port())
    script = block.replace("127.0.0.1:8000", f"127.0.0.1:{port}").replace("--port 8000", f"--port {port}")
    assert port in script and "8000" not in script
    # the only addition: stop the server the block started in the background, whatever happens
    serve = re.search(r"^soundcue serve .*&\s*$", script, re.M)
    assert serve, script
    script = (script[: serve.end()] + "\nSERVE_PID=$!; trap 'kill $SERVE_PID; wait $SERVE_PID' EXIT\n"
              + script[serve.end():])
    shutil.copy(knocks_mp4, tmp_path / "clip.mp4")
    r = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env=_env(SOUNDCUE_ANALYZER="fake_analysis:analyze"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr and "problem+json" not in r.stdout
    out = r.stdout
    assert re.search(r"^1\n\d\d:\d\d:\d\d,\d{3} --> ", out, re.M), out[-2000:]  # the synchronous SRT
    assert re.search(r"^job_\S+ succeeded; \d+ files in results", out, re.M), out[-2000:]  # soundcue submit -o
    assert '"status":"succeeded"' in out, out[-2000:]  # the job the block submitted, then polled
    assert re.search(r"WEBVTT\n(.*\n)*?\d\d:\d\d:\d\d\.\d{3} --> ", out, re.M), out[-2000:]  # its captions.vtt
    assert (tmp_path / "results" / "captions.vtt").read_text().startswith("WEBVTT")  # soundcue submit -o


def test_the_documented_keys_are_accepted(tmp_path: Path) -> None:
    """The ``export`` lines of README.md and docs/api.md give a key the server takes, and set $KEY to it."""
    for doc, after in ((ROOT / "README.md", "## Service"), (ROOT / "docs" / "api.md", "# The soundcue")):
        exports = [line for line in _sh_blocks(doc, after)[0].splitlines() if line.startswith("export ")]
        assert any("SOUNDCUE_API_KEYS" in line for line in exports), doc
        r = subprocess.run(["bash", "-c", "\n".join([*exports, 'echo "$KEY"; echo "$SOUNDCUE_API_KEYS"'])],
                           capture_output=True, text=True, timeout=60, env=_env())
        key, keys = r.stdout.splitlines()
        assert keys == key and len(key) >= MIN_API_KEY_CHARS, (doc, r.stdout)
        assert load_settings(api_keys=keys, data_dir=tmp_path).api_keys == [key]


@pytest.mark.parametrize("keys, shorter", [("my-secret-key", "1 of 1 is shorter"),
                                           ("a-long-enough-key-0123,short,tiny", "2 of 3 are shorter")])
def test_a_short_key_is_refused_with_the_rule(keys: str, shorter: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(api_keys=keys)
    message = str(caught.value)
    assert f"each API key must be at least {MIN_API_KEY_CHARS} characters long" in message and shorter in message
    assert keys.split(",")[0] not in message  # a key is a secret: never echoed


def test_serve_with_a_short_key_says_the_rule(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "app", "serve", "--port", str(free_port())], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120,
                       env=_env(SOUNDCUE_API_KEYS="my-secret-key"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "SOUNDCUE_API_KEYS: each API key must be at least 16 characters long" in r.stderr, r.stderr
