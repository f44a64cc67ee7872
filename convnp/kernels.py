"""Classic hand-made 3x3 filters, and 2-D cross-correlation and convolution of one image.

Before networks learned their kernels, image processing designed them by hand. The
filters here are the ones lectures start from: line detectors, Sobel edge detectors,
blurs, sharpen and the Laplacian. They are read-only float64 arrays of shape (3, 3),
also collected in the dict ``KERNELS``.

``correlate2d`` slides the kernel over the image as it is, which is what ``Conv2d``
computes (it calls the same ``conv2d_forward`` kernel). ``convolve2d`` flips the kernel
first, which is the mathematician's convolution. See ``docs/02_correlation_vs_convolution.md``.

Orientation. Under cross-correlation (what ``correlate2d`` and ``Conv2d`` do):

- ``VERTICAL`` (rows of ``[-1, 2, -1]``) responds to a thin bright vertical line,
  ``HORIZONTAL`` (its transpose) to a horizontal one, ``DIAGONAL_45`` to a line going
  from bottom-left to top-right, ``DIAGONAL_135`` to one from top-left to bottom-right.
- ``SOBEL_X = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]`` is the lecture's orientation: under
  cross-correlation it is positive where the image is brighter on the left than on the
  right (left minus right). Many textbooks write ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]``,
  which cross-correlated gives right minus left, and *convolved* (flipped) gives left
  minus right again. The sign is a convention; ``|response|`` is the edge strength.
- ``SOBEL_Y = SOBEL_X.T`` is positive where the top is brighter than the bottom.
"""

from __future__ import annotations

import numpy as np

from convnp.functional.conv import conv2d_forward
from convnp.functional.shapes import pair


def _kernel(rows: list[list[float]], scale: float = 1.0) -> np.ndarray:
    k = np.array(rows, dtype=np.float64) * scale
    k.setflags(write=False)
    return k


VERTICAL = _kernel([[-1, 2, -1], [-1, 2, -1], [-1, 2, -1]])
HORIZONTAL = _kernel([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]])
DIAGONAL_45 = _kernel([[-1, -1, 2], [-1, 2, -1], [2, -1, -1]])
DIAGONAL_135 = _kernel([[2, -1, -1], [-1, 2, -1], [-1, -1, 2]])
SOBEL_X = _kernel([[1, 0, -1], [2, 0, -2], [1, 0, -1]])
SOBEL_Y = _kernel([[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
IDENTITY = _kernel([[0, 0, 0], [0, 1, 0], [0, 0, 0]])
BOX_BLUR = _kernel([[1, 1, 1], [1, 1, 1], [1, 1, 1]], 1 / 9)
GAUSSIAN_BLUR = _kernel([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16)
SHARPEN = _kernel([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
LAPLACIAN = _kernel([[0, 1, 0], [1, -4, 1], [0, 1, 0]])

#: Every filter above by name, in teaching order: lines, edges, then smoothing and sharpening.
KERNELS: dict[str, np.ndarray] = {
    "vertical": VERTICAL,
    "horizontal": HORIZONTAL,
    "diagonal_45": DIAGONAL_45,
    "diagonal_135": DIAGONAL_135,
    "sobel_x": SOBEL_X,
    "sobel_y": SOBEL_Y,
    "identity": IDENTITY,
    "box_blur": BOX_BLUR,
    "gaussian_blur": GAUSSIAN_BLUR,
    "sharpen": SHARPEN,
    "laplacian": LAPLACIAN,
}


def _padding(padding: int | tuple[int, int] | str, kernel_shape: tuple[int, int],
             caller: str) -> tuple[int, int]:
    """Turn ``'valid'``, ``'same'``, ``'full'``, an int or a pair into ``(pH, pW)``."""
    kH, kW = kernel_shape
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0)
        if padding == "full":
            return (kH - 1, kW - 1)
        if padding == "same":
            if kH % 2 == 0 or kW % 2 == 0:
                raise ValueError(f"{caller}: padding='same' needs an odd kernel size, got "
                                 f"kernel shape {kernel_shape}")
            return (kH // 2, kW // 2)
        raise ValueError(f"{caller}: padding must be 'valid', 'same', 'full', an int or a "
                         f"pair, got {padding!r}")
    pads = pair(padding, "padding", caller)
    if min(pads) < 0:
        raise ValueError(f"{caller}: padding must be >= 0, got {padding!r}")
    return pads


def _correlate(image: np.ndarray, kernel: np.ndarray, padding: int | tuple[int, int] | str,
               stride: int | tuple[int, int], caller: str) -> np.ndarray:
    """``correlate2d``, with errors naming ``caller``."""
    image, kernel = np.asarray(image), np.asarray(kernel)
    for what, array in (("image", image), ("kernel", kernel)):
        if array.ndim != 2:
            raise ValueError(f"{caller}: expected a 2-D {what} (H, W), got shape "
                             f"{array.shape}")
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise TypeError(f"{caller}: the {what} must hold numbers, got dtype {array.dtype}")
    pads = _padding(padding, kernel.shape, caller)
    strides = pair(stride, "stride", caller)
    if min(strides) < 1:
        raise ValueError(f"{caller}: stride must be >= 1, got {stride!r}")
    for n, p, k in zip(image.shape, pads, kernel.shape):
        if n + 2 * p < k:
            raise ValueError(f"{caller}: kernel of shape {kernel.shape} is larger than the "
                             f"padded image ({image.shape} plus padding {pads} on each side)")
    dtype = np.result_type(image.dtype, kernel.dtype, np.float64)
    y, _ = conv2d_forward(image.astype(dtype)[None, None], kernel.astype(dtype)[None, None],
                          None, strides, pads)
    return np.ascontiguousarray(y[0, 0])


def correlate2d(image: np.ndarray, kernel: np.ndarray, padding: int | tuple[int, int] | str = 0,
                stride: int | tuple[int, int] = 1) -> np.ndarray:
    """Cross-correlate one 2-D image with one 2-D kernel: exactly what ``Conv2d`` computes.

    ``y[h, w] = sum_{i, j} kernel[i, j] * x_pad[h*sH + i, w*sW + j]`` with zero padding.
    It calls ``convnp.functional.conv2d_forward`` on a (1, 1, H, W) image, the kernel a
    ``Conv2d`` layer runs.

    Args:
        image: (H, W), any real dtype (uint8 images are fine).
        kernel: (kH, kW).
        padding: zeros added on each side: an int, ``(pH, pW)``, ``'valid'`` (0),
            ``'same'`` (``k // 2``, odd kernels; output size = input size at stride 1) or
            ``'full'`` (``k - 1``: every position where kernel and image overlap at all).
        stride: an int or ``(sH, sW)``.

    Returns:
        (H_out, W_out), float64.

    **Shape:** (H, W) -> (H_out, W_out), ``H_out = floor((H + 2pH - kH)/sH) + 1``, same for W.

    Example:
        >>> correlate2d(np.arange(9).reshape(3, 3), np.array([[0, 1], [2, 3]]))
        array([[19., 25.],
               [37., 43.]])
    """
    return _correlate(image, kernel, padding, stride, "correlate2d")


def convolve2d(image: np.ndarray, kernel: np.ndarray, padding: int | tuple[int, int] | str = 0,
               stride: int | tuple[int, int] = 1) -> np.ndarray:
    """Convolve one 2-D image with one 2-D kernel: cross-correlation with the kernel flipped.

    ``y[h, w] = sum_{i, j} kernel[kH-1-i, kW-1-j] * x_pad[h*sH + i, w*sW + j]``, i.e.
    ``convolve2d(x, k) == correlate2d(x, k[::-1, ::-1])``. With ``padding='full'`` and an
    impulse image this prints the kernel upright, where ``correlate2d`` prints it flipped.

    Args:
        image: (H, W).
        kernel: (kH, kW).
        padding, stride: as in ``correlate2d``.

    Returns:
        (H_out, W_out), float64.

    **Shape:** (H, W) -> (H_out, W_out), ``H_out = floor((H + 2pH - kH)/sH) + 1``, same for W.

    Example:
        >>> impulse = np.zeros((1, 1)); impulse[0, 0] = 1
        >>> convolve2d(impulse, np.array([[1, 2], [3, 4]]), padding="full")
        array([[1., 2.],
               [3., 4.]])
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 2:
        raise ValueError(f"convolve2d: expected a 2-D kernel (kH, kW), got shape {kernel.shape}")
    return _correlate(image, kernel[::-1, ::-1], padding, stride, "convolve2d")
