"""The same weights give PyTorch's outputs and gradients (PyTorch as an optional oracle).

Each layer is compared over a seeded list of random configurations, in float32
(``rtol=1e-4, atol=1e-5``) and float64 (``rtol=1e-10``): forward output, input gradient
and every parameter gradient, for a random output gradient.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")

from convnp import (  # noqa: E402
    GELU,
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    CrossEntropyLoss,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool1d,
    MaxPool2d,
    MSELoss,
    MultiMarginLoss,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from convnp.models.lenet import lenet5  # noqa: E402

DTYPES = {"float32": np.float32, "float64": np.float64}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
TOL = {np.float32: {"rtol": 1e-4, "atol": 1e-5}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}
CONFIGS = range(12)
MODES = ["zeros", "reflect", "replicate", "circular"]


def out_len(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def compare(ours, theirs, x, rng):
    """Run both modules on ``x``; compare outputs, input gradients and parameter gradients."""
    tol = TOL[x.dtype.type]
    if ours.parameters():
        theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    y, yt = ours(x), theirs(xt)
    assert y.dtype == x.dtype
    np.testing.assert_allclose(y, yt.detach().numpy(), **tol, err_msg="output")
    g = rng.standard_normal(y.shape).astype(x.dtype)
    ours.zero_grad()
    grad_x = ours.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), **tol, err_msg="input gradient")
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, theirs.get_parameter(name).grad.numpy(), **tol,
                                   err_msg=name)


# --------------------------------------------------------------------------- convolution
def conv_config(seed, n_dims):
    """A random valid convolution: groups, stride, padding (int, 'same', 'valid'), dilation,
    bias and padding mode, with an input whose spatial sizes differ."""
    rng = np.random.default_rng(seed)
    while True:
        G = int(rng.integers(1, 4))
        kernel = tuple(int(k) for k in rng.integers(1, 5, n_dims))
        dilation = tuple(int(d) for d in rng.integers(1, 3, n_dims))
        kind = rng.choice(["int", "int", "same", "valid"])
        stride = (1,) * n_dims if kind == "same" else tuple(int(s) for s in
                                                            rng.integers(1, 4, n_dims))
        padding = {"same": "same", "valid": "valid"}.get(
            kind, tuple(int(p) for p in rng.integers(0, 3, n_dims)))
        mode = str(rng.choice(MODES))
        sizes = tuple(int(n) for n in rng.choice(np.arange(4, 11), n_dims, replace=False))
        pads = ([d * (k - 1) - d * (k - 1) // 2 for k, d in zip(kernel, dilation)]
                if padding == "same" else [0] * n_dims if padding == "valid" else padding)
        if mode == "reflect" and any(p >= n for p, n in zip(pads, sizes)):
            continue
        if mode == "circular" and any(p > n for p, n in zip(pads, sizes)):
            continue
        explicit = padding if isinstance(padding, tuple) else (0,) * n_dims
        if padding != "same" and min(out_len(n, k, s, p, d) for n, k, s, p, d in
                                     zip(sizes, kernel, stride, explicit, dilation)) < 1:
            continue
        args = {"in_channels": G * int(rng.integers(1, 3)),
                "out_channels": G * int(rng.integers(1, 4)), "kernel_size": kernel,
                "stride": stride, "padding": padding, "dilation": dilation, "groups": G,
                "bias": bool(rng.integers(0, 2)), "padding_mode": mode}
        return args, (int(rng.integers(1, 3)), args["in_channels"], *sizes)


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("seed", CONFIGS)
def test_conv2d_matches_torch(seed, dtype):
    args, shape = conv_config(seed, 2)
    rng = np.random.default_rng(seed)
    ours = Conv2d(**args, rng=rng, dtype=dtype)
    theirs = torch.nn.Conv2d(**args, dtype=TORCH_DTYPE[dtype])
    compare(ours, theirs, rng.standard_normal(shape).astype(dtype), rng)


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("seed", CONFIGS)
def test_conv1d_matches_torch(seed, dtype):
    args, shape = conv_config(100 + seed, 1)
    args = {k: (v[0] if isinstance(v, tuple) else v) for k, v in args.items()}
    rng = np.random.default_rng(seed)
    ours = Conv1d(**args, rng=rng, dtype=dtype)
    theirs = torch.nn.Conv1d(**args, dtype=TORCH_DTYPE[dtype])
    compare(ours, theirs, rng.standard_normal(shape).astype(dtype), rng)


# --------------------------------------------------------------------------- pooling
def pool_config(seed, n_dims, is_max):
    rng = np.random.default_rng(seed)
    while True:
        kernel = tuple(int(k) for k in rng.integers(1, 4, n_dims))
        stride = tuple(int(s) for s in rng.integers(1, 4, n_dims))
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        dilation = tuple(int(d) for d in rng.integers(1, 3, n_dims)) if is_max else (1,) * n_dims
        sizes = tuple(int(n) for n in rng.choice(np.arange(3, 10), n_dims, replace=False))
        if min(out_len(n, k, s, p, d) for n, k, s, p, d in
               zip(sizes, kernel, stride, padding, dilation)) < 1:
            continue
        args = {"kernel_size": kernel, "stride": stride, "padding": padding,
                "ceil_mode": bool(rng.integers(0, 2))}
        if is_max:
            args["dilation"] = dilation
        else:
            args["count_include_pad"] = bool(rng.integers(0, 2))
        if n_dims == 1:
            args = {k: (v[0] if isinstance(v, tuple) else v) for k, v in args.items()}
        return args, (int(rng.integers(1, 3)), int(rng.integers(1, 4)), *sizes)


POOLS = {"MaxPool2d": (MaxPool2d, torch.nn.MaxPool2d, 2, True),
         "AvgPool2d": (AvgPool2d, torch.nn.AvgPool2d, 2, False),
         "MaxPool1d": (MaxPool1d, torch.nn.MaxPool1d, 1, True),
         "AvgPool1d": (AvgPool1d, torch.nn.AvgPool1d, 1, False)}


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("seed", CONFIGS)
@pytest.mark.parametrize("name", POOLS)
def test_pool_matches_torch(name, seed, dtype):
    Ours, Theirs, n_dims, is_max = POOLS[name]
    args, shape = pool_config(seed, n_dims, is_max)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    compare(Ours(**args), Theirs(**args), x, rng)


def test_maxpool_ties_match_torch(rng):
    x = rng.integers(-1, 2, (2, 2, 6, 9)).astype(np.float64)  # three values: many ties
    for args in ({"kernel_size": 2}, {"kernel_size": (3, 2), "stride": 1},
                 {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": (1, 2)}):
        compare(MaxPool2d(**args), torch.nn.MaxPool2d(**args), x, rng)


# --------------------------------------------------------------------------- dense, activations
@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("bias, shape", [(True, (4, 7)), (False, (4, 7)), (True, (2, 3, 7)),
                                         (True, (7,)), (False, (3, 1, 2, 7))])
def test_linear_matches_torch(bias, shape, dtype, rng):
    ours = Linear(7, 5, bias=bias, rng=rng, dtype=dtype)
    theirs = torch.nn.Linear(7, 5, bias=bias, dtype=TORCH_DTYPE[dtype])
    compare(ours, theirs, rng.standard_normal(shape).astype(dtype), rng)


ACTIVATIONS = {
    "ReLU": (ReLU, torch.nn.ReLU), "LeakyReLU": (LeakyReLU, torch.nn.LeakyReLU),
    "LeakyReLU(0.2)": (lambda: LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    "Sigmoid": (Sigmoid, torch.nn.Sigmoid), "Tanh": (Tanh, torch.nn.Tanh),
    "GELU": (GELU, torch.nn.GELU),
    "GELU(tanh)": (lambda: GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    "Identity": (Identity, torch.nn.Identity),
    **{f"Softmax({d})": (lambda d=d: Softmax(d), lambda d=d: torch.nn.Softmax(d))
       for d in (0, 1, -1)},
    **{f"LogSoftmax({d})": (lambda d=d: LogSoftmax(d), lambda d=d: torch.nn.LogSoftmax(d))
       for d in (0, 1, -1)},
}


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_torch(name, dtype, rng):
    ours, theirs = ACTIVATIONS[name]
    x = (3 * rng.standard_normal((2, 3, 4, 5))).astype(dtype)
    compare(ours(), theirs(), x, rng)


# --------------------------------------------------------------------------- losses
@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("seed", CONFIGS)
def test_cross_entropy_matches_torch(seed, dtype):
    rng = np.random.default_rng(seed)
    N, C = int(rng.integers(1, 6)), int(rng.integers(2, 7))
    reduction = ["mean", "sum", "none"][seed % 3]
    smoothing = [0.0, 0.1, 0.35][(seed // 3) % 3]
    logits = (4 * rng.standard_normal((N, C))).astype(dtype)
    if seed % 4 == 3:  # probabilities whose rows do not sum to 1, which torch accepts
        target = (2 * rng.random((N, C))).astype(dtype)
        target_t = torch.from_numpy(target)
    elif seed % 2:
        target = rng.dirichlet(np.ones(C), N).astype(dtype)
        target_t = torch.from_numpy(target)
    else:
        target = rng.integers(0, C, N)
        target_t = torch.from_numpy(target)
    ours = CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)
    theirs = torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)
    check_loss(ours, theirs, logits, target, target_t, rng)


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_matches_torch(reduction, dtype, rng):
    pred = rng.standard_normal((3, 2, 5)).astype(dtype)
    target = rng.standard_normal((3, 2, 5)).astype(dtype)
    check_loss(MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction), pred, target,
               torch.from_numpy(target), rng)


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("p, margin", [(1, 1.0), (2, 1.0), (1, 0.3), (2, 2.5)])
def test_multi_margin_matches_torch(p, margin, reduction, dtype, rng):
    scores = rng.standard_normal((6, 5)).astype(dtype)
    target = rng.integers(0, 5, 6)
    check_loss(MultiMarginLoss(p, margin, reduction=reduction),
               torch.nn.MultiMarginLoss(p, margin, reduction=reduction), scores, target,
               torch.from_numpy(target), rng)


def check_loss(ours, theirs, pred, target, target_t, rng):
    tol = TOL[pred.dtype.type]
    pred_t = torch.from_numpy(pred.copy()).requires_grad_(True)
    loss, loss_t = ours(pred, target), theirs(pred_t, target_t)
    np.testing.assert_allclose(loss, loss_t.detach().numpy(), **tol)
    g = rng.standard_normal(np.shape(loss)).astype(pred.dtype)
    grad = ours.backward(g if np.ndim(loss) else float(g))
    loss_t.backward(torch.from_numpy(np.asarray(g)))
    assert grad.dtype == pred.dtype
    np.testing.assert_allclose(grad, pred_t.grad.numpy(), **tol)


# --------------------------------------------------------------------------- LeNet state dict
def test_torch_lenet_state_dict_loads_into_lenet5(rng):
    nn = torch.nn
    with torch.random.fork_rng():  # a fixed torch init without touching the global seed
        torch.manual_seed(0)
        theirs = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    ours = lenet5(rng=rng)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.random((3, 1, 28, 28), dtype=np.float32)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    y, yt = ours(x), theirs(xt)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = rng.standard_normal(y.shape).astype(np.float32)
    ours.zero_grad()
    np.testing.assert_allclose(ours.backward(g), _torch_backward(yt, xt, g), rtol=1e-4,
                               atol=1e-5)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, theirs.get_parameter(name).grad.numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=name)


def _torch_backward(yt, xt, g):
    yt.backward(torch.from_numpy(g))
    return xt.grad.numpy()
