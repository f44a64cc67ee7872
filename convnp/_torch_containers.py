"""The PyTorch modules that stand for convnp's ``Residual`` and ``Concat`` in ``interop``.

PyTorch has no class for either, so ``to_torch`` builds these two, with the same children
and ``state_dict`` keys. Importing this module imports torch, so ``interop`` imports it
only inside its functions, and convnp itself never does; ``convnp.interop.TorchResidual``
and ``TorchConcat`` reach the classes. They are defined at the top level of a module so
that ``torch.save`` can pickle a whole converted model.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class TorchResidual(nn.Module):
    """``body(x) + shortcut(x)`` (identity shortcut if None): convnp's ``Residual``."""

    def __init__(self, body: nn.Module, shortcut: nn.Module | None = None) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


class TorchConcat(nn.Module):
    """Every branch on x, concatenated along ``dim``: convnp's ``Concat``."""

    def __init__(self, *branches: nn.Module, dim: int = 1) -> None:
        super().__init__()
        for i, branch in enumerate(branches):
            self.add_module(str(i), branch)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.children()], dim=self.dim)
