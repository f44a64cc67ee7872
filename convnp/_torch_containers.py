"""The PyTorch modules that stand for convnp's ``Residual`` and ``Concat`` in ``interop``.

PyTorch has no class for either, so ``to_torch`` builds these two, with the same children
and ``state_dict`` keys. They are defined on first use, so that importing convnp never
imports torch; ``convnp.interop.TorchResidual`` and ``TorchConcat`` reach them.
"""

from __future__ import annotations

_TORCH_CLASSES: dict[str, type] = {}


def torch_class(name: str) -> type:
    """``TorchResidual`` or ``TorchConcat``, defined on first use (so torch stays optional)."""
    if not _TORCH_CLASSES:
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

        _TORCH_CLASSES.update(TorchResidual=TorchResidual, TorchConcat=TorchConcat)
    return _TORCH_CLASSES[name]
