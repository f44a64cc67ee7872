"""Pure array functions: arrays and ints in, arrays out. No classes with state, no randomness.

Convolution three ways, one answer: ``convnp.naive`` (loops from the definition),
``conv2d_forward(..., algorithm='tensordot')`` (one ``np.tensordot`` per kernel offset,
``conv_tensordot.py``) and ``algorithm='im2col'``, the default (``columns.py`` plus one
matrix product, ``conv.py``). ``_fast.py`` holds the equal, faster variants that the
default path uses.
"""

from convnp.functional.columns import col2im, col2im1d, im2col, im2col1d
from convnp.functional.conv import (
    ALGORITHMS,
    conv1d_backward,
    conv1d_forward,
    conv2d_backward,
    conv2d_forward,
)
from convnp.functional.conv_transpose import (
    conv_transpose1d_backward,
    conv_transpose1d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)
from convnp.functional.padding import pad, pad_backward
from convnp.functional.pool import (
    avg_pool1d_backward,
    avg_pool1d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool1d_backward,
    max_pool1d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from convnp.functional.resample import (
    downsample_backward,
    downsample_forward,
    resample_factor,
    upsample_nearest_backward,
    upsample_nearest_forward,
    upsample_zeros_backward,
    upsample_zeros_forward,
)
from convnp.functional.shapes import (
    conv_output_size,
    conv_transpose_output_size,
    pool_output_size,
)

__all__ = [
    "ALGORITHMS", "avg_pool1d_backward", "avg_pool1d_forward", "avg_pool2d_backward",
    "avg_pool2d_forward",
    "col2im", "col2im1d", "conv1d_backward", "conv1d_forward", "conv2d_backward",
    "conv2d_forward", "conv_output_size", "conv_transpose_output_size", "im2col", "im2col1d",
    "max_pool1d_backward", "max_pool1d_forward", "max_pool2d_backward", "max_pool2d_forward",
    "pad", "pad_backward", "pool_output_size",
    "conv_transpose1d_backward", "conv_transpose1d_forward", "conv_transpose2d_backward",
    "conv_transpose2d_forward", "downsample_backward", "downsample_forward", "resample_factor",
    "upsample_nearest_backward", "upsample_nearest_forward", "upsample_zeros_backward",
    "upsample_zeros_forward",
]
