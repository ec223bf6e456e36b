"""Every bad input: exit 2, one line naming problem and fix, no traceback, nothing half-written."""
import json
import subprocess
import sys

import pytest

from conftest import PROJECT_ROOT


def _run(*args, cwd=None, env_extra=None):
    import os

    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "run_benchmark.py"), *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd or PROJECT_ROOT, env=env)


def _assert_clean_error(proc, pattern):
    import re

    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.search(pattern, errors[0]), proc.stderr


@pytest.mark.parametrize("case, pattern", [
    ("missing_data_dir", r"data directory .*missing does not exist; pass --data-dir"),
    ("unknown_dataset", r"dataset 'nope' not found .* available: Tiny"),
    ("malformed_json", r"malformed json in .*Tiny.inter.json at line 1, column \d+"),
    ("unknown_model", r"unknown model 'Bogus'; registered: .*SASRec-CE"),
    ("unknown_key", r"unknown config key 'learing_rate' in the command line; did you mean 'learning_rate'"),
    ("too_small", r"dataset too small for the leave-one-out split"),
    ("unknown_profile", r"unknown profile 'fast'"),
])
def test_bad_input(case, pattern, tmp_path, data_dir, isolated_cache):
    args = {"--model": "MF", "--dataset": "Tiny", "--data-dir": str(data_dir), "--profile": "smoke",
            "--output": str(tmp_path / "results")}
    extra = []
    if case == "missing_data_dir":
        args["--data-dir"] = str(tmp_path / "missing")
    elif case == "unknown_dataset":
        args["--dataset"] = "nope"
    elif case == "malformed_json":
        (data_dir / "Tiny" / "Tiny.inter.json").write_text('{"0": [1, 2, 3')
    elif case == "unknown_model":
        args["--model"] = "Bogus"
    elif case == "unknown_key":
        extra = ["--learing_rate=0.1"]
    elif case == "too_small":
        (data_dir / "Tiny" / "Tiny.inter.json").write_text(json.dumps({"0": [1, 2, 3], "1": [1, 2]}))
    elif case == "unknown_profile":
        args["--profile"] = "fast"
    proc = _run(*[f"{k}={v}" for k, v in args.items()], *extra)
    _assert_clean_error(proc, pattern)
    assert not (tmp_path / "results").exists()
    atomic = isolated_cache / "atomic"
    assert not atomic.exists() or all(not p.name.startswith(".") for p in atomic.iterdir())


def test_a_failing_model_still_prints_the_baseline_table(tmp_path, data_dir):
    out = tmp_path / "results"
    ok = _run("--model=MF", "--dataset=Tiny", f"--data-dir={data_dir}", "--profile=smoke", f"--output={out}")
    assert ok.returncode == 0, ok.stderr
    proc = _run("--model=Bogus", "--dataset=Tiny", f"--data-dir={data_dir}", "--profile=smoke", f"--output={out}")
    _assert_clean_error(proc, r"unknown model 'Bogus'")
    assert "| MF " in proc.stdout
    assert (out / "Tiny.md").is_file()
