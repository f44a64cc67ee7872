"""Loss functions: cross-entropy on logits (fused with log-softmax) and mean squared error.

Cross-entropy with target distribution ``q`` (one-hot for class indices, smoothed by
``label_smoothing`` = e as ``q = (1-e) q + e/C``)::

    loss_n = - sum_c q[n, c] * log_softmax(logits)[n, c]
    dloss_n / dlogits[n] = softmax(logits)[n] - q[n]

Computing log-softmax directly (``x - max - log sum exp(x - max)``) never forms
``exp(1e4)``, so logits of +-1e4 give finite losses and gradients.
"""

from __future__ import annotations

import numpy as np

from convnp.functional.activation import log_softmax


def target_distribution(target: np.ndarray, num_classes: int, label_smoothing: float,
                        dtype: np.dtype) -> np.ndarray:
    """Turn class indices (N,) or probabilities (N, C) into the smoothed distribution (N, C)."""
    if target.ndim == 1:
        q = np.zeros((target.shape[0], num_classes), dtype=dtype)
        q[np.arange(target.shape[0]), target] = 1
    else:
        q = target.astype(dtype, copy=True)
    if label_smoothing:
        q = q * dtype.type(1 - label_smoothing) + dtype.type(label_smoothing / num_classes)
    return q


def cross_entropy_forward(logits: np.ndarray, q: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample cross-entropy of ``logits`` (N, C) against distributions ``q`` (N, C).

    A class with ``q = 0`` contributes 0 even if its logit is ``-inf`` (the limit of
    ``q log p``), instead of ``0 * -inf = nan``: a ``-inf`` logit masks a class out.

    Returns:
        ``(losses (N,), log_probs (N, C))``; log_probs is what backward needs.

    Example:
        >>> losses, _ = cross_entropy_forward(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]))
        >>> round(float(losses[0]), 4)   # log 2
        0.6931
        >>> losses, _ = cross_entropy_forward(np.array([[0.0, -np.inf, 1.0]]),
        ...                                   np.array([[1.0, 0.0, 0.0]]))
        >>> round(float(losses[0]), 4)   # -log(e^0 / (e^0 + e^1))
        1.3133
    """
    log_probs = log_softmax(logits, dim=1)
    return -(q * np.where(q == 0, 0, log_probs)).sum(axis=1), log_probs


def cross_entropy_backward(grad_losses: np.ndarray, log_probs: np.ndarray, q: np.ndarray
                           ) -> np.ndarray:
    """``grad_logits = grad_losses[:, None] * (softmax - q)``, shape (N, C)."""
    return grad_losses[:, None] * (np.exp(log_probs) - q)


def mse_forward(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Element-wise squared error ``(pred - target)**2``."""
    return (pred - target) ** 2


def mse_backward(grad_losses: np.ndarray, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``grad_pred = grad_losses * 2 (pred - target)``."""
    return grad_losses * 2 * (pred - target)
