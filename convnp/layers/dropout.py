"""Dropout: randomly zero units while training, to stop co-adaptation."""

from __future__ import annotations

import numpy as np

from convnp.layers.module import Module, check_grad, check_input
from convnp.validate import check_bool, check_float, check_generator


class Dropout(Module):
    """Inverted dropout, as ``torch.nn.Dropout``.

    In training mode each element is kept with probability ``1 - p`` and scaled by
    ``1/(1 - p)``, so the expected output equals the input and evaluation needs no
    rescaling: ``y = x * mask / (1 - p)``, ``mask ~ Bernoulli(1 - p)``. In eval mode
    ``y = x``.

    Args:
        p: probability of zeroing an element, in [0, 1].
        inplace: accepted so that PyTorch code runs unchanged; the output is a new
            array and x is left as it was (``layers/activation.py`` says why).
        rng: the generator for the masks (fresh entropy if None). Pass one for
            reproducible training.

    **Shape:** (*) -> (*).

    Example:
        >>> drop = Dropout(0.5, rng=np.random.default_rng(0))
        >>> drop(np.ones((1, 4)))
        array([[2., 0., 0., 0.]])
        >>> drop.eval()(np.ones((1, 4)))
        array([[1., 1., 1., 1.]])
    """

    input_ndim: int | None = None  # any shape

    def __init__(self, p: float = 0.5, inplace: bool = False, *,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.p = check_float(name, "p", p, min=0, max=1)
        self.inplace = check_bool(name, "inplace", inplace)
        self.rng = check_generator(name, "rng", rng) or np.random.default_rng()

    def mask_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of the random mask: one draw per element."""
        return shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(*) -> (*): masked and rescaled in training mode, unchanged in eval mode."""
        check_input(self, x, self.input_ndim)
        if not self.training or self.p == 0:
            self._save((None, x.shape))
            return x
        scale = 0.0 if self.p == 1 else 1 / (1 - self.p)
        mask = (self.rng.random(self.mask_shape(x.shape)) >= self.p) * x.dtype.type(scale)
        self._save((mask, x.shape))
        return x * mask

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """(*) -> (*): the gradient flows only through the kept elements, scaled alike."""
        mask, x_shape = self._saved()
        check_grad(self, grad_y, x_shape)
        return grad_y if mask is None else grad_y * mask

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", inplace=True" if self.inplace else "")


class Dropout2d(Dropout):
    """Channel dropout, as ``torch.nn.Dropout2d``: zero whole feature maps while training.

    Neighbouring pixels of a feature map are strongly correlated, so dropping single
    pixels (``Dropout``) hardly regularises a conv layer; ``Dropout2d`` keeps or drops
    each channel of each sample as a whole: ``y[n, c] = x[n, c] * mask[n, c] / (1 - p)``,
    ``mask ~ Bernoulli(1 - p)``. In eval mode ``y = x``.

    Args:
        p: probability of zeroing a channel, in [0, 1].
        inplace: as for ``Dropout``: accepted, and x is never overwritten.
        rng: the generator for the masks (fresh entropy if None).

    **Shape:** (N, C, H, W) -> (N, C, H, W).

    Example:
        >>> drop = Dropout2d(0.5, rng=np.random.default_rng(0))
        >>> drop(np.ones((1, 4, 1, 2)))[0, :, 0]
        array([[2., 2.],
               [0., 0.],
               [0., 0.],
               [0., 0.]])
    """

    input_ndim = 4

    def mask_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """One draw per channel of each sample, (N, C, 1, 1), broadcast over H and W."""
        return (*shape[:2], 1, 1)
