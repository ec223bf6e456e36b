"""The plugin path: a third-party package, once pip-installed, runs from the benchmark CLI and
lands in the table, without any change to recbole_diger."""
import json
import subprocess
import sys

import pytest

from conftest import PROJECT_ROOT

EXAMPLE = PROJECT_ROOT / "examples" / "rqkmeans"


@pytest.fixture
def installed_example():
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "-e", str(EXAMPLE)], check=True,
                   capture_output=True, timeout=300)
    try:
        yield
    finally:
        subprocess.run([*pip, "uninstall", "-y", "recbole-diger-rqkmeans"], capture_output=True, timeout=300)


def test_installed_plugin_runs_and_appears_in_the_table(installed_example, tmp_path, data_dir, isolated_cache):
    out = tmp_path / "results"
    proc = subprocess.run([sys.executable, str(PROJECT_ROOT / "run_benchmark.py"), "--model=RQ-KMeans,TIGER",
                           "--dataset=Tiny", f"--data-dir={data_dir}", "--profile=smoke", f"--output={out}"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    folder = out / "Tiny" / "RQ-KMeans" / "smoke" / "seed-2024"
    info = json.loads((folder / "run.json").read_text())
    assert info["tokenizer"]["kind"] == "rq-kmeans" and info["tokenizer"]["stats"]["n_items"] == 40
    assert len(json.loads((folder / "sids.json").read_text())) == 40
    assert "| RQ-KMeans " in (out / "Tiny.md").read_text()
    assert sorted(p.name for p in (isolated_cache / "rqkmeans").iterdir()) == ["Tiny-k32-seed2024.json"]
