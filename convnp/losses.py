"""Loss functions: ``loss = criterion(pred, target)``, then ``criterion.backward()`` -> dloss/dpred.

The arithmetic is in ``convnp/functional/loss.py``.
"""

from __future__ import annotations

import numpy as np

from convnp.functional.loss import (
    cross_entropy_backward,
    cross_entropy_forward,
    mse_backward,
    mse_forward,
    target_distribution,
)

_REDUCTIONS = ("mean", "sum", "none")


class _Loss:
    """Shared reduction logic. ``forward`` returns a float ('mean', 'sum') or an array ('none')."""

    def __init__(self, *, reduction: str = "mean") -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, "
                             f"got {reduction!r}")
        self.reduction = reduction
        self._cache = None

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        return self.forward(pred, target)

    def _reduce(self, losses: np.ndarray, count: int) -> float | np.ndarray:
        if self.reduction == "none":
            return losses
        total = losses.sum()
        return float(total / count) if self.reduction == "mean" else float(total)

    def _grad_losses(self, grad: float | np.ndarray, shape: tuple[int, ...], count: int,
                     dtype: np.dtype) -> np.ndarray:
        """dL/d(per-element losses): 1/count for 'mean', 1 for 'sum', ``grad`` for 'none'."""
        if self.reduction == "none":
            grad = np.asarray(grad, dtype=dtype)
            if grad.ndim and grad.shape != shape:
                raise ValueError(f"{type(self).__name__}.backward: with reduction='none' grad "
                                 f"must be a scalar or have the losses' shape {shape}, got "
                                 f"{grad.shape}")
            return np.broadcast_to(grad, shape)
        scale = grad / count if self.reduction == "mean" else grad
        return np.full(shape, scale, dtype=dtype)

    def _saved(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward was called before forward")
        return self._cache

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class CrossEntropyLoss(_Loss):
    """Cross-entropy between logits and targets, fused with a stable log-softmax.

    ``loss_n = -sum_c q[n, c] * log_softmax(logits)[n, c]`` where ``q`` is the one-hot of
    the class index (or the given probabilities), smoothed to ``(1-e) q + e/C`` by
    ``label_smoothing = e``. The gradient is ``(softmax(logits) - q) / N`` for 'mean'.

    Args:
        reduction: ``'mean'`` (over N), ``'sum'`` or ``'none'`` (per-sample losses).
        label_smoothing: e in [0, 1].

    Both are keyword-only: torch's first positional argument is ``weight``.

    **Shape:** logits (N, C); target (N,) int class indices or (N, C) probabilities.
    Output: a float, or (N,) for ``reduction='none'``.

    Example:
        >>> criterion = CrossEntropyLoss()
        >>> round(criterion(np.array([[2.0, 0.0, 0.0]]), np.array([0])), 4)
        0.2395
        >>> criterion.backward().round(4)
        array([[-0.213 ,  0.1065,  0.1065]])
    """

    def __init__(self, *, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction=reduction)
        if not 0 <= label_smoothing <= 1:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing}")
        self.label_smoothing = label_smoothing

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        """logits (N, C), target (N,) or (N, C) -> loss."""
        logits, target = np.asarray(logits), np.asarray(target)
        if logits.ndim != 2 or not np.issubdtype(logits.dtype, np.floating):
            raise ValueError(f"CrossEntropyLoss: expected float logits of shape (N, C), got "
                             f"{logits.dtype} array of shape {logits.shape}")
        N, C = logits.shape
        if target.shape == (N,):
            if not np.issubdtype(target.dtype, np.integer):
                raise ValueError(f"CrossEntropyLoss: class-index targets must be integers, "
                                 f"got dtype {target.dtype}")
            if N and (target.min() < 0 or target.max() >= C):
                raise ValueError(f"CrossEntropyLoss: class indices must be in [0, {C - 1}], "
                                 f"got values from {target.min()} to {target.max()}")
        elif target.shape != (N, C):
            raise ValueError(f"CrossEntropyLoss: expected target of shape ({N},) or ({N}, {C}) "
                             f"for logits of shape {logits.shape}, got {target.shape}")
        q = target_distribution(target, C, self.label_smoothing, logits.dtype)
        losses, log_probs = cross_entropy_forward(logits, q)
        self._cache = (log_probs, q)
        return self._reduce(losses, N)

    def backward(self, grad: float | np.ndarray = 1.0) -> np.ndarray:
        """dloss/dlogits, shape (N, C). ``grad`` is dL/dloss ((N,) for 'none')."""
        log_probs, q = self._saved()
        N = log_probs.shape[0]
        grad_losses = self._grad_losses(grad, (N,), N, log_probs.dtype)
        return cross_entropy_backward(grad_losses, log_probs, q)

    def __repr__(self) -> str:
        extra = "" if not self.label_smoothing else f", label_smoothing={self.label_smoothing}"
        return f"CrossEntropyLoss(reduction={self.reduction!r}{extra})"


class MSELoss(_Loss):
    """Mean squared error ``mean((pred - target)^2)``; gradient ``2 (pred - target) / numel``.

    Args:
        reduction: ``'mean'`` (over all elements), ``'sum'`` or ``'none'``; keyword-only
            (torch's first positional argument is the deprecated ``size_average``).

    **Shape:** pred and target of the same shape (*). Output: a float, or (*) for 'none'.

    Example:
        >>> criterion = MSELoss()
        >>> criterion(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
        5.0
        >>> criterion.backward()
        array([1., 3.])
    """

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        """pred (*), target (*) -> loss."""
        pred, target = np.asarray(pred), np.asarray(target)
        if pred.shape != target.shape:
            raise ValueError(f"MSELoss: pred shape {pred.shape} and target shape "
                             f"{target.shape} differ")
        self._cache = (pred, target)
        return self._reduce(mse_forward(pred, target), pred.size)

    def backward(self, grad: float | np.ndarray = 1.0) -> np.ndarray:
        """dloss/dpred, shaped like pred."""
        pred, target = self._saved()
        grad_losses = self._grad_losses(grad, pred.shape, pred.size, pred.dtype)
        return mse_backward(grad_losses, pred, target).astype(pred.dtype, copy=False)
