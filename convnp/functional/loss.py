"""Loss functions: cross-entropy on logits (fused with log-softmax), the multiclass hinge
(SVM) loss and mean squared error.

Cross-entropy with target distribution ``q`` (one-hot for class indices, smoothed by
``label_smoothing`` = e as ``q = (1-e) q + e/C``)::

    loss_n = - sum_c q[n, c] * log_softmax(logits)[n, c]
    dloss_n / dlogits[n] = softmax(logits)[n] * sum_c q[n, c] - q[n]

which is the familiar ``softmax - q`` when q sums to 1, as a one-hot or smoothed target
does. Probability targets need not sum to 1 (PyTorch does not ask it either).

Computing log-softmax directly (``x - max - log sum exp(x - max)``) never forms
``exp(1e4)``, so logits of +-1e4 give finite losses and gradients.

The multiclass hinge (SVM) loss of scores ``s`` against the class ``y``::

    loss_n = sum_{i != y} max(0, margin - s[n, y] + s[n, i])**p / C
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


def cross_entropy_backward(grad_losses: np.ndarray, log_probs: np.ndarray, q: np.ndarray,
                           q_sums: np.ndarray | None = None) -> np.ndarray:
    """``grad_logits = grad_losses[:, None] * (softmax * q_sums[:, None] - q)``, shape (N, C).

    ``q_sums`` (N,) are the rows' sums of q, for probability targets; None means 1 (class
    indices, smoothed or not), and then the gradient is ``softmax - q``.

    Example:
        >>> log_probs = np.log(np.array([[0.5, 0.5]]))
        >>> cross_entropy_backward(np.ones(1), log_probs, np.array([[1.0, 0.0]]))
        array([[-0.5,  0.5]])
        >>> q = np.array([[2.0, 0.0]])                   # loss = -2 log p_0: twice the gradient
        >>> cross_entropy_backward(np.ones(1), log_probs, q, q.sum(axis=1))
        array([[-1.,  1.]])
    """
    probs = np.exp(log_probs)
    if q_sums is not None:
        probs *= q_sums[:, None]
    return grad_losses[:, None] * (probs - q)


def mse_forward(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Element-wise squared error ``(pred - target)**2``."""
    return (pred - target) ** 2


def mse_backward(grad_losses: np.ndarray, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``grad_pred = grad_losses * 2 (pred - target)``."""
    return grad_losses * 2 * (pred - target)


def multi_margin_forward(scores: np.ndarray, target: np.ndarray, margin: float, p: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample multiclass hinge loss: ``sum_{i != y} max(0, margin - s_y + s_i)**p / C``.

    Each wrong class whose score comes within ``margin`` of the right class's score adds
    to the loss; a sample whose right class wins by at least ``margin`` costs nothing.

    Args:
        scores: (N, C) class scores.
        target: (N,) class indices y.
        margin: the required lead of the right class.
        p: 1 (hinge) or 2 (squared hinge).

    Returns:
        ``(losses (N,), hinge (N, C))``: hinge is ``max(0, margin - s_y + s_i)``, 0 at
        ``i = y``; backward needs it.

    **Shape:** scores (N, C), target (N,) -> losses (N,).

    Example:
        >>> losses, _ = multi_margin_forward(np.array([[3.0, 2.5, 0.0]]), np.array([0]), 1.0, 1)
        >>> losses                         # only class 1 is within the margin: 0.5 / 3
        array([0.16666667])
    """
    rows = np.arange(scores.shape[0])
    with np.errstate(invalid="ignore"):  # margin - inf + inf at i = y, set to 0 next
        hinge = np.maximum(margin - scores[rows, target][:, None] + scores, 0)
    hinge[rows, target] = 0
    return (hinge ** p).sum(axis=1) / scores.shape[1], hinge


def multi_margin_backward(grad_losses: np.ndarray, hinge: np.ndarray, target: np.ndarray,
                          p: int) -> np.ndarray:
    """dloss/dscores: ``p * hinge**(p-1) / C`` at each wrong class inside the margin, and
    minus their sum at the right class; scaled by ``grad_losses`` per sample.

    **Shape:** grad_losses (N,), hinge (N, C), target (N,) -> (N, C).

    Example:
        >>> _, hinge = multi_margin_forward(np.array([[3.0, 2.5, 0.0]]), np.array([0]), 1.0, 1)
        >>> multi_margin_backward(np.ones(1), hinge, np.array([0]), 1) * 3
        array([[-1.,  1.,  0.]])
    """
    slope = (hinge > 0) * (p * hinge ** (p - 1)) / hinge.shape[1]
    slope[np.arange(hinge.shape[0]), target] = -slope.sum(axis=1)
    return grad_losses[:, None] * slope
