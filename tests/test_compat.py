"""Each shim: the breakage is real on this stack without it (subprocess), and gone with it."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy
import torch


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)


CONFIG = """
from recbole.config import Config
Config(model="BPR", dataset="ml-100k", config_dict={"epochs": 1})
print("ok")
"""


@pytest.mark.skipif(int(np.__version__.split(".")[0]) < 2, reason="numpy < 2 still has np.float_")
def test_numpy2_aliases():
    without = _python(CONFIG)
    assert without.returncode != 0 and "float_" in without.stderr
    with_shim = _python("import recbole_diger\n" + CONFIG)
    assert with_shim.returncode == 0, with_shim.stderr


DOK = """
import scipy.sparse as sp
A = sp.dok_matrix((3, 3), dtype="float32")
A._update({(0, 1): 1, (2, 0): 1})
print(A.toarray().tolist())
"""


@pytest.mark.skipif(tuple(map(int, scipy.__version__.split(".")[:2])) < (1, 12), reason="scipy < 1.12 has _update")
def test_scipy_dok_update():
    without = _python(DOK)
    assert without.returncode != 0 and "_update" in without.stderr
    with_shim = _python("import recbole_diger\n" + DOK)
    assert with_shim.returncode == 0, with_shim.stderr
    assert with_shim.stdout.strip() == "[[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]"


CHECKPOINT = """
import sys, torch
from recbole.config import Config
import recbole.trainer.trainer as trainer_module
config = Config(model="BPR", dataset="ml-100k", config_dict={"epochs": 1})
torch.save({"config": config, "state_dict": {}}, sys.argv[1])
loaded = trainer_module.torch.load(sys.argv[1], map_location="cpu")
print(type(loaded["config"]).__name__)
"""


@pytest.mark.skipif(tuple(map(int, torch.__version__.split(".")[:2])) < (2, 6), reason="torch < 2.6 loads pickles")
def test_trainer_loads_its_own_checkpoint(tmp_path):
    path = str(tmp_path / "ckpt.pth")
    # numpy aliases by hand (importing recbole_diger would apply every shim)
    numpy_shim = "import numpy as np; np.float_, np.complex_, np.unicode_ = np.float64, np.complex128, np.str_\n"
    without = subprocess.run([sys.executable, "-c", numpy_shim + textwrap.dedent(CHECKPOINT), path],
                             capture_output=True, text=True, timeout=300)
    assert without.returncode != 0 and "weights_only" in without.stderr
    with_shim = subprocess.run([sys.executable, "-c", "import recbole_diger\n" + textwrap.dedent(CHECKPOINT), path],
                               capture_output=True, text=True, timeout=300)
    assert with_shim.returncode == 0, with_shim.stderr
    assert with_shim.stdout.strip() == "Config"
    # the rest of the process keeps torch's safe default
    assert torch.load.__name__ == "load"


def test_runner_never_imports_ray():
    out = _python("""
        import sys
        import recbole_diger.cli, recbole_diger.benchmark.runner
        from recbole.trainer import Trainer
        from recbole.data import create_dataset
        print("ray" in sys.modules)
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_recbole_sequential_import_leaves_anomaly_mode_off():
    code = "import torch, recbole.model.sequential_recommender; print(torch.is_anomaly_enabled())"
    without = _python(code)
    assert without.returncode == 0 and without.stdout.strip() == "True"  # RecBole's sine.py switches it on
    with_shim = _python("import recbole_diger\n" + code)
    assert with_shim.returncode == 0, with_shim.stderr
    assert with_shim.stdout.strip() == "False"
