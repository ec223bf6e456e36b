"""Compatibility shims that let RecBole 1.2.1 run on today's stack.

Each shim fixes one measured breakage (see ``../shared/FACTS.md``) and is a no-op where
the breakage is absent. ``apply()`` is idempotent and is called on ``import recbole_diger``.

* numpy 2 removed ``np.float_``, ``np.complex_`` and ``np.unicode_``; RecBole's
  ``Config.compatibility_settings`` reads them.
* scipy >= 1.12 removed ``dok_matrix._update``; LightGCN, NGCF, NCL, GCMC, SpectralCF,
  KGIN and MCCLK build their adjacency matrix with it.
* torch >= 2.6 loads checkpoints with ``weights_only=True``; RecBole's own checkpoints
  pickle its Config, so ``Trainer.evaluate(load_best_model=True)`` fails. Only RecBole's
  trainer module is given a ``torch.load`` that trusts the file (it reads checkpoints it
  wrote itself); ``torch.load`` elsewhere keeps its safe default.
* ``recbole.quick_start`` imports ray (numpy < 2, setuptools < 81): this package never
  imports it and uses Config / create_dataset / get_trainer directly.
* ``recbole/model/sequential_recommender/sine.py`` calls ``torch.autograd.set_detect_anomaly(True)``
  at import, and importing any RecBole sequential model imports it: every backward pass then
  scans every tensor for NaNs (measured: over half of a T5 training step). The shim imports that
  package once and switches anomaly mode back off.
* pandas 3 (copy-on-write) is excluded by a pin in setup.cfg instead of a shim.
"""
from __future__ import annotations

import functools
import types

_APPLIED: set[str] = set()


def patch_numpy_aliases() -> bool:
    """Restore the numpy 1 scalar aliases RecBole's Config reads. Returns True if patched."""
    import numpy as np

    aliases = {"float_": "float64", "complex_": "complex128", "unicode_": "str_"}
    patched = False
    for old, new in aliases.items():
        if old not in np.__dict__:
            setattr(np, old, getattr(np, new))
            patched = True
    return patched


def patch_scipy_dok_update() -> bool:
    """Give ``scipy.sparse.dok_matrix`` back its ``_update(dict)`` method. Returns True if patched."""
    import scipy.sparse as sp

    if hasattr(sp.dok_matrix, "_update"):
        return False

    def _update(self, data: dict) -> None:
        # scipy >= 1.12 keeps the entries in a plain dict at ``self._dict``.
        self._dict.update(data)

    sp.dok_matrix._update = _update
    return True


class _TrustedCheckpointTorch(types.ModuleType):
    """``torch`` as seen by RecBole's trainer: ``load`` reads RecBole's own pickled checkpoints."""

    def __init__(self, torch_module):
        super().__init__("torch")
        self._torch = torch_module
        self.load = functools.partial(torch_module.load, weights_only=False)

    def __getattr__(self, name):
        return getattr(self._torch, name)


def patch_trainer_checkpoint_load() -> bool:
    """Let RecBole's trainer load the checkpoints it saved (torch >= 2.6). Returns True if patched."""
    import torch
    import recbole.trainer.trainer as trainer_module

    if isinstance(trainer_module.torch, _TrustedCheckpointTorch):
        return False
    trainer_module.torch = _TrustedCheckpointTorch(torch)
    return True


def patch_recbole_anomaly_mode() -> bool:
    """Undo the anomaly mode that importing RecBole's sequential models switches on. Returns True if it was on."""
    import torch
    import recbole.model.sequential_recommender  # noqa: F401  (runs sine.py's set_detect_anomaly(True))

    if torch.is_anomaly_enabled():
        torch.autograd.set_detect_anomaly(False)
        return True
    return False


def apply() -> dict[str, bool]:
    """Apply every shim once; returns which ones changed something in this process."""
    done = {}
    for shim in (patch_numpy_aliases, patch_scipy_dok_update, patch_trainer_checkpoint_load,
                 patch_recbole_anomaly_mode):
        if shim.__name__ not in _APPLIED:
            done[shim.__name__] = shim()
            _APPLIED.add(shim.__name__)
    return done
