"""Reference implementations written straight from the definitions, sharing no code with convnp.

Every function here is the obvious loop: one output element at a time, each index worked
out by hand. They are slow and meant for small arrays only. Only NumPy is imported; the
arithmetic is done on Python floats (``tolist()``), so the results are float64 whatever
the input dtype. ``tests/test_reference.py`` pins each of them on hand-computed cases.

Conventions, as in PyTorch: NCHW / NCL layout, weights (C_out, C_in/G, kH, kW),
cross-correlation (no kernel flip), ``(H, W)`` ordered pairs.
"""

from __future__ import annotations

import math

import numpy as np


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# --------------------------------------------------------------------------- sizes
def out_size_ref(n: int, k: int, s: int = 1, p: int = 0, d: int = 1,
                 ceil_mode: bool = False) -> int:
    """PyTorch's output length: ``floor((n + 2p - d(k-1) - 1)/s) + 1``.

    With ``ceil_mode`` the division rounds up, and a last window that would start in
    the right padding (at or past ``n + p``) is dropped.
    """
    span = n + 2 * p - d * (k - 1) - 1
    if span < 0:
        return 0
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return out


# --------------------------------------------------------------------------- padding
def _source(t: int, n: int, mode: str) -> int | None:
    """Input index that padded position ``t`` (``t < 0`` or ``t >= n`` is padding) copies."""
    if 0 <= t < n:
        return t
    if mode == "zeros":
        return None
    if mode == "replicate":
        return 0 if t < 0 else n - 1
    if mode == "circular":
        return t % n
    if mode == "reflect":  # mirror about the edge sample, which is not repeated
        return -t if t < 0 else 2 * (n - 1) - t
    raise ValueError(f"pad_ref: unknown mode {mode!r}")


def pad_ref(x: np.ndarray, pads, mode: str = "zeros") -> np.ndarray:
    """Pad the last ``len(pads)`` axes; ``pads`` holds one ``(before, after)`` per axis.

    Position ``t`` of an axis of length n (``-before <= t < n + after``) copies input
    index: t itself inside; 0 (zeros); clamp(t, 0, n-1) (replicate); t mod n (circular);
    -t or 2(n-1)-t (reflect).
    """
    x = np.asarray(x)
    lead = x.ndim - len(pads)
    spatial = x.shape[lead:]
    out_shape = x.shape[:lead] + tuple(n + b + a for n, (b, a) in zip(spatial, pads))
    out = np.zeros(out_shape, dtype=np.float64)
    for index in np.ndindex(*out_shape[lead:]):
        src = []
        for t, n, (before, _) in zip(index, spatial, pads):
            src.append(_source(t - before, n, mode))
        if None in src:
            continue
        out[(Ellipsis, *index)] = x[(Ellipsis, *src)]
    return out


# --------------------------------------------------------------------------- convolution
def conv2d_ref(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """``y[n,o,h,w] = b[o] + sum_{c,i,j} w[o,c,i,j] * x[n, g*Cg + c, r, q]``, zero padding.

    ``r = h*sH - pH + i*dH`` and ``q = w*sW - pW + j*dW`` are the tapped input row and column.

    Taps that fall outside the input (in the padding) contribute nothing. Output channel
    ``o`` belongs to group ``g = o // (C_out/G)`` and reads input channels
    ``g*Cg ... g*Cg + Cg - 1`` with ``Cg = C_in/G``.
    """
    (sH, sW), (pH, pW), (dH, dW) = _pair(stride), _pair(padding), _pair(dilation)
    N, C_in, H, W = np.shape(x)
    C_out, Cg, kH, kW = np.shape(weight)
    H_out = out_size_ref(H, kH, sH, pH, dH)
    W_out = out_size_ref(W, kW, sW, pW, dW)
    xs, ws = np.asarray(x).tolist(), np.asarray(weight).tolist()
    bs = None if bias is None else np.asarray(bias).tolist()
    out_per_group = C_out // groups
    y = np.zeros((N, C_out, H_out, W_out))
    for n in range(N):
        for o in range(C_out):
            g = o // out_per_group
            for h in range(H_out):
                for w in range(W_out):
                    total = 0.0 if bs is None else bs[o]
                    for c in range(Cg):
                        for i in range(kH):
                            r = h * sH - pH + i * dH
                            if not 0 <= r < H:
                                continue
                            for j in range(kW):
                                q = w * sW - pW + j * dW
                                if 0 <= q < W:
                                    total += ws[o][c][i][j] * xs[n][g * Cg + c][r][q]
                    y[n, o, h, w] = total
    return y


def conv1d_ref(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """``y[n,o,t] = b[o] + sum_{c,i} w[o,c,i] * x[n, g*Cg + c, t*s - p + i*d]``, zero padding."""
    N, C_in, L = np.shape(x)
    C_out, Cg, k = np.shape(weight)
    L_out = out_size_ref(L, k, stride, padding, dilation)
    xs, ws = np.asarray(x).tolist(), np.asarray(weight).tolist()
    bs = None if bias is None else np.asarray(bias).tolist()
    out_per_group = C_out // groups
    y = np.zeros((N, C_out, L_out))
    for n in range(N):
        for o in range(C_out):
            g = o // out_per_group
            for t in range(L_out):
                total = 0.0 if bs is None else bs[o]
                for c in range(Cg):
                    for i in range(k):
                        u = t * stride - padding + i * dilation
                        if 0 <= u < L:
                            total += ws[o][c][i] * xs[n][g * Cg + c][u]
                y[n, o, t] = total
    return y


def same_pads_ref(kernel_size, dilation) -> list[tuple[int, int]]:
    """PyTorch's ``padding='same'``: total ``d(k-1)`` per axis, the odd extra at the end."""
    return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
            for k, d in zip(kernel_size, dilation)]


# --------------------------------------------------------------------------- pooling
def maxpool2d_ref(x, kernel_size, stride=None, padding=0, dilation=1,
                  ceil_mode: bool = False) -> np.ndarray:
    """``y[n,c,h,w] = max over taps (i, j) of x[n, c, h*sH - pH + i*dH, w*sW - pW + j*dW]``.

    Taps in the padding are skipped (padding is -inf); a window with no real tap is -inf.
    """
    return _maxpool2d(x, kernel_size, stride, padding, dilation, ceil_mode)[0]


def maxpool2d_backward_ref(x, grad_y, kernel_size, stride=None, padding=0, dilation=1,
                           ceil_mode: bool = False) -> np.ndarray:
    """Send each ``grad_y`` entry to its window's winner: the first maximum, row-major."""
    _, winners = _maxpool2d(x, kernel_size, stride, padding, dilation, ceil_mode)
    grad_x = np.zeros(np.shape(x))
    gy = np.asarray(grad_y)
    for (n, c, h, w), (r, q) in winners.items():
        grad_x[n, c, r, q] += gy[n, c, h, w]
    return grad_x


def _maxpool2d(x, kernel_size, stride, padding, dilation, ceil_mode):
    (kH, kW) = _pair(kernel_size)
    (sH, sW) = (kH, kW) if stride is None else _pair(stride)
    (pH, pW), (dH, dW) = _pair(padding), _pair(dilation)
    N, C, H, W = np.shape(x)
    H_out = out_size_ref(H, kH, sH, pH, dH, ceil_mode)
    W_out = out_size_ref(W, kW, sW, pW, dW, ceil_mode)
    xs = np.asarray(x).tolist()
    y = np.full((N, C, H_out, W_out), -np.inf)
    winners = {}
    for n in range(N):
        for c in range(C):
            for h in range(H_out):
                for w in range(W_out):
                    best, where = -math.inf, None
                    for i in range(kH):
                        for j in range(kW):
                            r, q = h * sH - pH + i * dH, w * sW - pW + j * dW
                            if not (0 <= r < H and 0 <= q < W):
                                continue  # padding never wins
                            if where is None or xs[n][c][r][q] > best:  # ties: first stays
                                best, where = xs[n][c][r][q], (r, q)
                    y[n, c, h, w] = best
                    if where is not None:
                        winners[(n, c, h, w)] = where
    return y, winners


def avgpool2d_ref(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                  count_include_pad: bool = True) -> np.ndarray:
    """Window sum over the real pixels divided by PyTorch's divisor.

    For output row h: ``start = h*sH - pH``, ``end = min(start + kH, H + pH)`` (the
    window clipped to the right padding, never into ceil_mode's overhang). The divisor is
    ``(end - start)`` per axis when ``count_include_pad``, otherwise the number of real
    rows ``min(end, H) - max(start, 0)``; the 2-D divisor is the product over the axes.
    """
    (kH, kW) = _pair(kernel_size)
    (sH, sW) = (kH, kW) if stride is None else _pair(stride)
    (pH, pW) = _pair(padding)
    N, C, H, W = np.shape(x)
    H_out = out_size_ref(H, kH, sH, pH, 1, ceil_mode)
    W_out = out_size_ref(W, kW, sW, pW, 1, ceil_mode)
    xs = np.asarray(x).tolist()
    y = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for h in range(H_out):
                h0 = h * sH - pH
                h1 = min(h0 + kH, H + pH)
                for w in range(W_out):
                    w0 = w * sW - pW
                    w1 = min(w0 + kW, W + pW)
                    total = 0.0
                    for r in range(max(h0, 0), min(h1, H)):
                        for q in range(max(w0, 0), min(w1, W)):
                            total += xs[n][c][r][q]
                    if count_include_pad:
                        divisor = (h1 - h0) * (w1 - w0)
                    else:
                        divisor = (min(h1, H) - max(h0, 0)) * (min(w1, W) - max(w0, 0))
                    y[n, c, h, w] = total / divisor
    return y


def maxpool1d_ref(x, kernel_size, stride=None, padding=0, dilation=1,
                  ceil_mode: bool = False) -> np.ndarray:
    """``y[n,c,t] = max over taps i of x[n, c, t*s - p + i*d]`` (padding skipped)."""
    s = kernel_size if stride is None else stride
    N, C, L = np.shape(x)
    L_out = out_size_ref(L, kernel_size, s, padding, dilation, ceil_mode)
    xs = np.asarray(x).tolist()
    y = np.full((N, C, L_out), -np.inf)
    for n in range(N):
        for c in range(C):
            for t in range(L_out):
                taps = [t * s - padding + i * dilation for i in range(kernel_size)]
                real = [xs[n][c][u] for u in taps if 0 <= u < L]
                if real:
                    y[n, c, t] = max(real)
    return y


def avgpool1d_ref(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                  count_include_pad: bool = True) -> np.ndarray:
    """1-D version of ``avgpool2d_ref``: ``end = min(start + k, L + p)``, same divisors."""
    s = kernel_size if stride is None else stride
    N, C, L = np.shape(x)
    L_out = out_size_ref(L, kernel_size, s, padding, 1, ceil_mode)
    xs = np.asarray(x).tolist()
    y = np.zeros((N, C, L_out))
    for n in range(N):
        for c in range(C):
            for t in range(L_out):
                u0 = t * s - padding
                u1 = min(u0 + kernel_size, L + padding)
                total = sum(xs[n][c][u] for u in range(max(u0, 0), min(u1, L)))
                divisor = (u1 - u0) if count_include_pad else (min(u1, L) - max(u0, 0))
                y[n, c, t] = total / divisor
    return y


# --------------------------------------------------------------------------- dense layers
def linear_ref(x, weight, bias=None) -> np.ndarray:
    """``y[..., o] = b[o] + sum_i x[..., i] * w[o, i]`` for every leading index."""
    x = np.asarray(x)
    C_out, C_in = np.shape(weight)
    ws = np.asarray(weight).tolist()
    y = np.zeros(x.shape[:-1] + (C_out,))
    for lead in np.ndindex(*x.shape[:-1]):
        row = x[lead].tolist()
        for o in range(C_out):
            total = 0.0 if bias is None else float(bias[o])
            for i in range(C_in):
                total += row[i] * ws[o][i]
            y[lead + (o,)] = total
    return y


# --------------------------------------------------------------------------- softmax, losses
def log_softmax_ref(x, dim: int) -> np.ndarray:
    """``y = x - log(sum(exp(x)))`` along ``dim``, one slice at a time, max subtracted first."""
    x = np.moveaxis(np.asarray(x, dtype=np.float64), dim, -1)
    y = np.zeros(x.shape)
    for lead in np.ndindex(*x.shape[:-1]):
        row = x[lead].tolist()
        m = max(row)
        lse = m + math.log(sum(math.exp(v - m) for v in row))
        y[lead] = [v - lse for v in row]
    return np.moveaxis(y, -1, dim)


def softmax_ref(x, dim: int) -> np.ndarray:
    """``exp(x_c) / sum_c' exp(x_c')`` along ``dim``."""
    return np.exp(log_softmax_ref(x, dim))


def cross_entropy_ref(logits, target, label_smoothing: float = 0.0,
                      reduction: str = "mean"):
    """``loss_n = -sum_c q[n,c] log p[n,c]``, ``q = (1-e) onehot + e/C`` (or given probabilities).

    'mean' divides the sum by N, 'sum' adds, 'none' returns the (N,) vector.
    """
    logits = np.asarray(logits, dtype=np.float64)
    N, C = logits.shape
    log_p = log_softmax_ref(logits, 1)
    target = np.asarray(target)
    losses = np.zeros(N)
    for n in range(N):
        for c in range(C):
            if target.ndim == 1:
                q = 1.0 if c == int(target[n]) else 0.0
            else:
                q = float(target[n, c])
            q = (1 - label_smoothing) * q + label_smoothing / C
            losses[n] -= q * log_p[n, c]
    if reduction == "none":
        return losses
    return float(losses.sum() / N) if reduction == "mean" else float(losses.sum())


def gelu_ref(x, approximate: str = "none") -> np.ndarray:
    """``x * Phi(x)``: ``Phi = (1 + erf(x/sqrt 2))/2``, or the tanh approximation."""
    out = []
    for v in np.asarray(x, dtype=np.float64).ravel().tolist():
        if approximate == "tanh":
            phi = 0.5 * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))
        else:
            phi = 0.5 * (1 + math.erf(v / math.sqrt(2)))
        out.append(v * phi)
    return np.array(out).reshape(np.shape(x))
