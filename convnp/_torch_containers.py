"""The PyTorch side of ``interop``: the modules that stand for convnp's ``Residual`` and
``Concat``, and the check that refuses a torch model whose layers share weights.

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


def refuse_shared_modules(module: nn.Module) -> None:
    """Raise a ValueError if one torch module appears twice in the tree.

    PyTorch lets a layer be used twice (its weights tied); convnp does not (one layer has
    one cache), so converting would untie the weights or, in a ``TorchResidual(c, c)``,
    drop the second use. ``_modules`` lists a child under every name it was given,
    where ``named_children`` skips repeats.
    """
    seen: dict[int, str] = {}

    def walk(m: nn.Module, where: str) -> None:
        for name, child in m._modules.items():
            if child is None:
                continue
            path = f"{where}.{name}" if where else name
            if id(child) in seen:
                raise ValueError(f"from_torch: layer {path} ({type(child).__name__}) is the "
                                 f"same module as layer {seen[id(child)]}; convnp layers "
                                 "cannot share weights, so give each use its own layer")
            seen[id(child)] = path
            walk(child, path)

    walk(module, "")
