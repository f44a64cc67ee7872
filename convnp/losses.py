"""Loss functions: ``loss = criterion(pred, target)``, then ``criterion.backward()`` -> dloss/dpred.

The arithmetic is in ``convnp/functional/loss.py``.
"""

from __future__ import annotations

import numpy as np

from convnp import anomaly
from convnp.functional.loss import (
    cross_entropy_backward,
    cross_entropy_forward,
    mse_backward,
    mse_forward,
    multi_margin_backward,
    multi_margin_forward,
    target_distribution,
)
from convnp.validate import check_choice, check_float, check_float_array, check_int

_REDUCTIONS = ("mean", "sum", "none")


class _Loss:
    """Shared reduction logic. ``forward`` returns a float ('mean', 'sum') or an array ('none').

    As for layers, call the loss (``criterion(pred, target)``): if ``forward`` raises,
    the cache of the last call is dropped, so ``backward`` raises instead of returning
    the gradient of an earlier batch; under ``convnp.detect_anomaly()`` the cached
    arrays are checked at ``backward`` and the loss is checked for NaN/inf.
    """

    def __init__(self, *, reduction: str = "mean") -> None:
        self.reduction = check_choice(type(self).__name__, "reduction", reduction, _REDUCTIONS)
        self._cache = None

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "backward" in cls.__dict__:
            cls.backward = anomaly.checked_backward(cls.__dict__["backward"])

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        try:
            loss = self.forward(pred, target)
            anomaly.label(self._cache, pred, None)
            anomaly.check_finite(f"{type(self).__name__}.forward", "the loss",
                                 np.asarray(loss))
            return loss
        except BaseException:
            self._cache = None
            raise

    def _save(self, cache: tuple) -> None:
        self._cache = anomaly.guard(cache)

    def _reduce(self, losses: np.ndarray, count: int) -> float | np.ndarray:
        """'none': the array; 'sum': its sum; 'mean': sum / count (NaN for count 0, as torch)."""
        if self.reduction == "none":
            return losses
        if self.reduction == "sum":
            return float(losses.sum())
        return float(losses.sum() / count) if count else float("nan")

    def _grad_losses(self, grad: float | np.ndarray, shape: tuple[int, ...], count: int,
                     dtype: np.dtype) -> np.ndarray:
        """dL/d(per-element losses): 1/count for 'mean', 1 for 'sum', ``grad`` for 'none'.

        ``grad`` is dL/d(loss): a real number, or for 'none' also an array of the losses'
        shape. With no elements (count 0) the result is empty, as in PyTorch.
        """
        owner = f"{type(self).__name__}.backward"
        g = np.asarray(grad)
        if g.dtype.kind not in "iuf":
            raise TypeError(f"{owner}: grad must be a real number or array, got "
                            f"{type(grad).__name__} {grad!r}")
        if self.reduction == "none":
            if g.ndim and g.shape != shape:
                raise ValueError(f"{owner}: with reduction='none' grad must be a scalar or have "
                                 f"the losses' shape {shape}, got {g.shape}")
            return np.broadcast_to(g.astype(dtype), shape)
        if g.ndim:
            raise ValueError(f"{owner}: with reduction={self.reduction!r} the loss is a scalar, "
                             f"so grad must be a scalar, got shape {g.shape}")
        if count == 0:
            return np.zeros(shape, dtype=dtype)
        scale = g.item() / count if self.reduction == "mean" else g.item()
        return np.full(shape, scale, dtype=dtype)

    def _saved(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward was called before forward "
                               "(or after a forward that raised)")
        return anomaly.unguard(type(self).__name__, self._cache)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class CrossEntropyLoss(_Loss):
    """Cross-entropy between logits and targets, fused with a stable log-softmax.

    ``loss_n = -sum_c q[n, c] * log_softmax(logits)[n, c]`` where ``q`` is the one-hot of
    the class index (or the given probabilities), smoothed to ``(1-e) q + e/C`` by
    ``label_smoothing = e``. The gradient is ``(softmax(logits) - q) / N`` for 'mean'
    (``softmax * sum_c q - q`` for probability targets, which need not sum to 1).

    A ``-inf`` logit (the usual way to mask a class out) is allowed: a class with
    target probability 0 adds nothing to the loss (``0 * log 0 = 0``), so
    ``[[0, -inf, 1]]`` with target 0 gives 1.3133 as in PyTorch. With
    ``label_smoothing > 0`` every class has probability > 0 and the loss is inf, as in
    PyTorch. (PyTorch returns NaN instead in two corner cases: probability targets without
    smoothing, and ``label_smoothing = 1`` with the target on the masked class. This class
    gives the limit value, as for class indices.) With N = 0 the 'mean' loss
    is NaN and the 'sum' loss 0, and ``backward`` returns an empty (0, C) gradient.

    Args:
        reduction: ``'mean'`` (over N), ``'sum'`` or ``'none'`` (per-sample losses).
        label_smoothing: e in [0, 1].

    Both are keyword-only: torch's first positional argument is ``weight``.

    **Shape:** logits (N, C), floating; target (N,) integer class indices or (N, C)
    floating probabilities. Output: a float, or (N,) for ``reduction='none'``.

    Example:
        >>> criterion = CrossEntropyLoss()
        >>> round(criterion(np.array([[2.0, 0.0, 0.0]]), np.array([0])), 4)
        0.2395
        >>> criterion.backward().round(4)
        array([[-0.213 ,  0.1065,  0.1065]])
    """

    def __init__(self, *, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction=reduction)
        self.label_smoothing = check_float("CrossEntropyLoss", "label_smoothing",
                                           label_smoothing, min=0, max=1)

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        """logits (N, C), target (N,) or (N, C) -> loss."""
        logits, target = np.asarray(logits), np.asarray(target)
        check_float_array("CrossEntropyLoss", "logits", logits)
        if logits.ndim != 2:
            raise ValueError(f"CrossEntropyLoss: expected logits of shape (N, C), got shape "
                             f"{logits.shape}")
        N, C = logits.shape
        if target.shape == (N,):
            _check_class_indices("CrossEntropyLoss", target, C)
        elif target.shape != (N, C):
            raise ValueError(f"CrossEntropyLoss: expected target of shape ({N},) or ({N}, {C}) "
                             f"for logits of shape {logits.shape}, got {target.shape}")
        else:
            check_float_array("CrossEntropyLoss", "probability target", target)
        q = target_distribution(target, C, self.label_smoothing, logits.dtype)
        losses, log_probs = cross_entropy_forward(logits, q)
        self._save((log_probs, q, q.sum(axis=1) if target.ndim == 2 else None))
        return self._reduce(losses, N)

    def backward(self, grad: float | np.ndarray = 1.0) -> np.ndarray:
        """dloss/dlogits, shape (N, C). ``grad`` is dL/dloss ((N,) for 'none')."""
        log_probs, q, q_sums = self._saved()
        N = log_probs.shape[0]
        grad_losses = self._grad_losses(grad, (N,), N, log_probs.dtype)
        return cross_entropy_backward(grad_losses, log_probs, q, q_sums)

    def __repr__(self) -> str:
        extra = "" if not self.label_smoothing else f", label_smoothing={self.label_smoothing}"
        return f"CrossEntropyLoss(reduction={self.reduction!r}{extra})"


def _check_class_indices(owner: str, target: np.ndarray, num_classes: int) -> None:
    """Raise unless ``target`` holds integers in [0, num_classes), naming ``owner``."""
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"{owner}: class-index targets must be integers, got dtype "
                        f"{target.dtype}")
    if target.size and (target.min() < 0 or target.max() >= num_classes):
        raise ValueError(f"{owner}: class indices must be in [0, {num_classes - 1}], got "
                         f"values from {target.min()} to {target.max()}")


class MultiMarginLoss(_Loss):
    """The multiclass hinge (SVM) loss on class scores, as ``torch.nn.MultiMarginLoss``.

    ``loss_n = sum_{i != y} max(0, margin - s[n, y] + s[n, i])**p / C`` for the scores
    ``s`` of sample n and its class y: every wrong class whose score comes within
    ``margin`` of the right one costs its shortfall. The gradient is ``p * hinge**(p-1) / C``
    at each such class and minus their sum at the right class (0 at a hinge exactly 0,
    as in PyTorch), divided by N for 'mean'. With N = 0 the 'mean' loss is NaN, the 'sum'
    loss 0, and ``backward`` returns an empty gradient.

    A NaN score makes its sample's loss NaN, so that ``Trainer`` stops with an error;
    PyTorch's comparison ``z > 0`` skips a NaN and gives a finite loss. The gradients
    agree.

    PyTorch (and this class) divides by the number of classes C; CS231n's ``svm_loss``
    does not, so it equals ``C * MultiMarginLoss()(s, y)``.

    Args:
        p: 1 (hinge) or 2 (squared hinge), as in PyTorch.
        margin: the lead the right class must have. Default 1.
        reduction: ``'mean'`` (over N), ``'sum'`` or ``'none'``; keyword-only (PyTorch's
            third positional argument is ``weight``, which convnp does not have).

    **Shape:** scores (N, C), floating; target (N,) integer class indices. Output: a
    float, or (N,) for ``reduction='none'``.

    Example:
        >>> criterion = MultiMarginLoss()
        >>> round(criterion(np.array([[3.0, 2.5, 0.0]]), np.array([0])), 4)   # 0.5 / 3
        0.1667
        >>> criterion.backward().round(4)
        array([[-0.3333,  0.3333,  0.    ]])
    """

    def __init__(self, p: int = 1, margin: float = 1.0, *, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.p = check_int("MultiMarginLoss", "p", p, min=1)
        if self.p > 2:
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2 (as in PyTorch), got {p}")
        self.margin = check_float("MultiMarginLoss", "margin", margin)

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float | np.ndarray:
        """scores (N, C), target (N,) -> loss."""
        scores, target = np.asarray(scores), np.asarray(target)
        check_float_array("MultiMarginLoss", "scores", scores)
        if scores.ndim != 2 or target.shape != scores.shape[:1]:
            raise ValueError(f"MultiMarginLoss: expected scores (N, C) and target (N,), got "
                             f"shapes {scores.shape} and {target.shape}")
        _check_class_indices("MultiMarginLoss", target, scores.shape[1])
        losses, hinge = multi_margin_forward(scores, target, self.margin, self.p)
        self._save((hinge, target.copy()))  # the caller may reuse their label array
        return self._reduce(losses, scores.shape[0])

    def backward(self, grad: float | np.ndarray = 1.0) -> np.ndarray:
        """dloss/dscores, shape (N, C). ``grad`` is dL/dloss ((N,) for 'none')."""
        hinge, target = self._saved()
        N = hinge.shape[0]
        grad_losses = self._grad_losses(grad, (N,), N, hinge.dtype)
        return multi_margin_backward(grad_losses, hinge, target, self.p)

    def __repr__(self) -> str:
        return f"MultiMarginLoss(p={self.p}, margin={self.margin}, reduction={self.reduction!r})"


class MSELoss(_Loss):
    """Mean squared error ``mean((pred - target)^2)``; gradient ``2 (pred - target) / numel``.

    Args:
        reduction: ``'mean'`` (over all elements), ``'sum'`` or ``'none'``; keyword-only
            (torch's first positional argument is the deprecated ``size_average``).

    ``pred`` must be floating; ``target`` may be floating or integer (as in PyTorch,
    which promotes it) and is cast to ``pred``'s dtype, so the gradient has pred's dtype.
    With no elements the 'mean' loss is NaN and ``backward`` returns an empty gradient.

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
        check_float_array("MSELoss", "pred", pred)
        if target.dtype.kind not in "iuf":
            raise TypeError(f"MSELoss: target must be a floating or integer array, got dtype "
                            f"{target.dtype}")
        if pred.shape != target.shape:
            raise ValueError(f"MSELoss: pred shape {pred.shape} and target shape "
                             f"{target.shape} differ")
        target = target.astype(pred.dtype, copy=False)
        self._save((pred, target))
        return self._reduce(mse_forward(pred, target), pred.size)

    def backward(self, grad: float | np.ndarray = 1.0) -> np.ndarray:
        """dloss/dpred, shaped like pred."""
        pred, target = self._saved()
        grad_losses = self._grad_losses(grad, pred.shape, pred.size, pred.dtype)
        return mse_backward(grad_losses, pred, target).astype(pred.dtype, copy=False)
