"""Misuse, class 1: every constructor checks the type and range of every argument.

A wrong type raises TypeError, a value out of range ValueError; the message names the
class, the argument and the value (issue #11). A bool is not an int, as in PyTorch.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnp import Parameter
from convnp.data import DataLoader, one_hot, train_val_split
from convnp.layers import (
    GELU,
    Conv2d,
    Downsample1d,
    Downsample2d,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sequential,
    Softmax,
    Upsample,
    Upsample1d,
    Upsample2d,
)
from convnp.losses import CrossEntropyLoss, MSELoss
from convnp.optim import (
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    LinearWarmup,
    OneCycleLR,
    StepLR,
)
from convnp.train import Trainer


def params():
    return [Parameter(np.zeros(2))]


def sgd():
    return SGD(params(), lr=0.1)


def trainer(**overrides):
    model = Linear(2, 2, rng=np.random.default_rng(0))
    opt = SGD(model.parameters(), lr=0.1)
    args = dict(model=model, loss_fn=CrossEntropyLoss(), optimizer=opt) | overrides
    return Trainer(**args)


X, Y = np.zeros((4, 2, 2), np.uint8), np.arange(4)

# (constructor call, exception, message): one row per argument and kind of mistake
CASES = [
    # layers
    (lambda: Linear(2.0, 3), TypeError, r"Linear: in_features must be an int, got float 2\.0"),
    (lambda: Linear(None, 3), TypeError, r"Linear: in_features must be an int, got NoneType"),
    (lambda: Linear(True, 3), TypeError, r"Linear: in_features must be an int, got bool True"),
    (lambda: Linear(2, 0), ValueError, r"Linear: out_features must be >= 1, got 0"),
    (lambda: Linear(2, 3, bias=1), TypeError, r"Linear: bias must be a bool, got int 1"),
    (lambda: Linear(2, 3, rng=0), TypeError, r"Linear: rng must be a np.random.Generator"),
    (lambda: Linear(6, 3, dtype=np.int32), TypeError, r"Linear: dtype must be a floating .*int32"),
    (lambda: Linear(6, 3, dtype=bool), TypeError, r"Linear: dtype must be a floating .*bool"),
    (lambda: Linear(6, 3, dtype=np.complex64), TypeError, r"Linear: dtype .*complex64"),
    (lambda: Linear(6, 3, dtype=None), TypeError, r"Linear: dtype must be a floating .*None"),
    (lambda: Linear(6, 3, dtype="floaty"), TypeError, r"Linear: dtype must be a floating"),
    (lambda: Flatten(start_dim=None), TypeError, r"Flatten: start_dim must be an int, got None"),
    (lambda: Flatten(end_dim=1.0), TypeError, r"Flatten: end_dim must be an int, got float"),
    (lambda: Softmax(dim=1.5), TypeError, r"Softmax: dim must be an int, got float 1\.5"),
    (lambda: LogSoftmax(dim=None), TypeError, r"LogSoftmax: dim must be an int"),
    (lambda: Softmax(dim=True), TypeError, r"Softmax: dim must be an int, got bool"),
    (lambda: LeakyReLU(None), TypeError, r"LeakyReLU: negative_slope must be a number, got None"),
    (lambda: LeakyReLU("a"), TypeError, r"LeakyReLU: negative_slope must be a number, got str"),
    (lambda: LeakyReLU(math.nan), ValueError, r"LeakyReLU: negative_slope must be a finite"),
    (lambda: GELU(None), TypeError, r"GELU: approximate must be one of 'none', 'tanh'"),
    (lambda: GELU("erf"), ValueError, r"GELU: approximate must be one of .*got 'erf'"),
    (lambda: Dropout(p=None), TypeError, r"Dropout: p must be a number, got NoneType"),
    (lambda: Dropout(p="0.5"), TypeError, r"Dropout: p must be a number, got str"),
    (lambda: Dropout(p=True), TypeError, r"Dropout: p must be a number, got bool"),
    (lambda: Dropout(p=1.5), ValueError, r"Dropout: p must be in \[0, 1\], got 1\.5"),
    (lambda: Dropout(p=math.nan), ValueError, r"Dropout: p must be a finite number, got nan"),
    (lambda: Dropout(rng=1), TypeError, r"Dropout: rng must be a np.random.Generator"),
    (lambda: Upsample1d("2"), TypeError, r"Upsample1d: upsampling_factor must be an integer"),
    (lambda: Upsample2d((2, True)), TypeError, r"Upsample2d: upsampling_factor"),
    (lambda: Downsample1d(0), ValueError, r"Downsample1d: downsampling_factor must be >= 1"),
    (lambda: Downsample2d(1.5), ValueError, r"Downsample2d: downsampling_factor .*1\.5"),
    (lambda: Upsample(None), TypeError, r"Upsample: scale_factor must be an integer"),
    (lambda: Upsample(2, mode=None), TypeError, r"Upsample: only mode='nearest'.*None"),
    (lambda: Sequential(ReLU), TypeError,
     r"Sequential: expected a Module, got the class ReLU; pass an instance, ReLU\(\)$"),
    (lambda: Parameter(np.array([1, 2])), TypeError, r"Parameter: data's dtype must be .*int64"),
    (lambda: Parameter(np.zeros(2), requires_grad=0), TypeError,
     r"Parameter: requires_grad must be a bool, got int 0"),
    # losses
    (lambda: CrossEntropyLoss(label_smoothing="0.1"), TypeError,
     r"CrossEntropyLoss: label_smoothing must be a number, got str '0\.1'"),
    (lambda: CrossEntropyLoss(label_smoothing=-0.1), ValueError,
     r"CrossEntropyLoss: label_smoothing must be in \[0, 1\], got -0\.1"),
    (lambda: CrossEntropyLoss(reduction=None), TypeError, r"CrossEntropyLoss: reduction must be"),
    (lambda: MSELoss(reduction="avg"), ValueError, r"MSELoss: reduction must be one of .*'avg'"),
    # optimizers
    (lambda: SGD(params(), lr=math.nan), ValueError, r"SGD: lr must be a finite number, got nan"),
    (lambda: SGD(params(), lr="0.1"), TypeError, r"SGD: lr must be a number, got str"),
    (lambda: SGD(params(), lr=0.1, momentum=None), TypeError, r"SGD: momentum must be a number"),
    (lambda: SGD(params(), lr=0.1, dampening=2), ValueError, r"SGD: dampening must be in \[0, 1"),
    (lambda: SGD(params(), lr=0.1, nesterov=1), TypeError, r"SGD: nesterov must be a bool"),
    (lambda: SGD(params(), lr=0.1, weight_decay=-1), ValueError, r"SGD: weight_decay must be >= 0"),
    (lambda: SGD(Linear(2, 2), lr=0.1), TypeError, r"SGD: params must be an iterable of "
                                                   r"Parameters, e\.g\. model\.parameters\(\)"),
    (lambda: Adam(params(), betas=0.9), TypeError, r"Adam: betas must be a pair"),
    (lambda: Adam(params(), betas=(0.9, math.inf)), ValueError, r"Adam: betas\[1\] must be a fin"),
    (lambda: Adam(params(), eps=None), TypeError, r"Adam: eps must be a number"),
    (lambda: AdamW(params(), lr=-1), ValueError, r"AdamW: lr must be >= 0, got -1"),
    # schedulers
    (lambda: StepLR(sgd(), 2.5), TypeError, r"StepLR: step_size must be an int, got float 2\.5"),
    (lambda: StepLR(sgd(), True), TypeError, r"StepLR: step_size must be an int, got bool"),
    (lambda: StepLR(sgd(), 2, gamma=None), TypeError, r"StepLR: gamma must be a number"),
    (lambda: CosineAnnealingLR(sgd(), 0), ValueError, r"CosineAnnealingLR: T_max must be >= 1"),
    (lambda: CosineAnnealingLR(sgd(), 5, eta_min=math.nan), ValueError,
     r"CosineAnnealingLR: eta_min must be a finite number"),
    (lambda: OneCycleLR(sgd(), "1", 10), TypeError, r"OneCycleLR: max_lr must be a number"),
    (lambda: OneCycleLR(sgd(), 1.0, 10, div_factor=0), ValueError,
     r"OneCycleLR: div_factor must be > 0, got 0"),
    (lambda: OneCycleLR(sgd(), 1.0, 10, three_phase="yes"), TypeError,
     r"OneCycleLR: three_phase must be a bool"),
    (lambda: OneCycleLR(sgd(), 1.0, 10, anneal_strategy=1), TypeError,
     r"OneCycleLR: anneal_strategy must be one of"),
    (lambda: LinearWarmup(sgd(), 5, after="cos"), TypeError, r"LinearWarmup: after must be None"),
    (lambda: LinearWarmup(sgd(), 5, start_factor=None), TypeError, r"LinearWarmup: start_factor"),
    (lambda: StepLR("opt", 2), TypeError, r"StepLR: expected an Optimizer, got str"),
    # data and training
    (lambda: DataLoader(X, Y, True), TypeError, r"DataLoader: batch_size must be an int, got bool"),
    (lambda: DataLoader(X, Y, 2, shuffle="no"), TypeError, r"DataLoader: shuffle must be a bool"),
    (lambda: DataLoader(X, Y, 2, drop_last=None), TypeError, r"DataLoader: drop_last must be a "),
    (lambda: DataLoader(X, Y.astype(bool), 2), TypeError, r"DataLoader: y must be an array of "),
    (lambda: DataLoader(X, np.array(["a"] * 4), 2), TypeError, r"DataLoader: y must be .*<U1"),
    (lambda: one_hot(np.array([0, 1]), 2.0), TypeError, r"one_hot: num_classes must be an int"),
    (lambda: train_val_split(X, Y, "0.5"), TypeError, r"train_val_split: val_fraction must be a "),
    (lambda: train_val_split(X, Y, 0.5, rng=3), TypeError, r"train_val_split: rng must be a np"),
    (lambda: Linear(2, 2).train("False"), TypeError, r"Linear.train: mode must be a bool"),
    (lambda: Linear(2, 2).requires_cache(0), TypeError, r"Linear.requires_cache: mode must be"),
    (lambda: trainer(model="net"), TypeError, r"Trainer: model must be a Module, got str"),
    (lambda: trainer(loss_fn=np.mean), TypeError, r"Trainer: loss_fn must be a loss"),
    (lambda: trainer(optimizer=None), TypeError, r"Trainer: optimizer must be an Optimizer"),
    (lambda: trainer(scheduler=0.1), TypeError, r"Trainer: scheduler must be None or an LRSch"),
    (lambda: trainer(scheduler=StepLR(sgd(), 2)), ValueError,
     r"Trainer: scheduler must schedule this trainer's optimizer"),
    (lambda: trainer(scheduler_step="step"), ValueError, r"Trainer: scheduler_step must be one"),
    (lambda: trainer(verbose=-1), ValueError, r"Trainer: verbose must be >= 0, got -1"),
    (lambda: trainer(verbose="1"), TypeError, r"Trainer: verbose must be an int"),
    (lambda: trainer(stream="out.txt"), TypeError, r"Trainer: stream must be None or a text"),
]


@pytest.mark.parametrize("make, error, message", CASES)
def test_constructor_refuses_a_bad_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_good_arguments_still_work():
    assert Linear(np.int64(2), 3, dtype="float64").dtype == np.float64
    assert Dropout(np.float32(0.25)).p == 0.25
    assert Softmax(dim=-1).dim == -1
    assert SGD(params(), lr=1, nesterov=np.bool_(True), momentum=0.9).nesterov is True
    assert trainer(verbose=False).verbose == 0


# --------------------------------------------------------------------------- hypothesis
NOT_A_NUMBER = st.one_of(st.none(), st.booleans(), st.text(max_size=3), st.lists(st.integers(),
                                                                                 max_size=2),
                         st.complex_numbers(allow_nan=False, allow_infinity=False))
NOT_AN_INT = st.one_of(NOT_A_NUMBER, st.floats())


@given(NOT_AN_INT)
def test_int_arguments_refuse_every_non_int(value):
    for make, name in [(lambda v: Linear(v, 2), "in_features"),
                       (lambda v: Linear(2, v), "out_features"),
                       (lambda v: Flatten(start_dim=v), "start_dim"),
                       (lambda v: Softmax(dim=v), "dim"),
                       (lambda v: StepLR(sgd(), v), "step_size"),
                       (lambda v: DataLoader(X, Y, v), "batch_size")]:
        with pytest.raises(TypeError, match=f"{name} must be an int, got {type(value).__name__}"):
            make(value)


@given(st.integers(max_value=0))
def test_size_arguments_refuse_ints_below_one(value):
    for make, name in [(lambda v: Linear(v, 2), "in_features"),
                       (lambda v: CosineAnnealingLR(sgd(), v), "T_max"),
                       (lambda v: OneCycleLR(sgd(), 1.0, v), "total_steps"),
                       (lambda v: DataLoader(X, Y, v), "batch_size")]:
        with pytest.raises(ValueError, match=f"{name} must be >= 1, got {value}"):
            make(value)


@given(NOT_A_NUMBER)
def test_float_arguments_refuse_every_non_number(value):
    for make, name in [(lambda v: LeakyReLU(v), "negative_slope"), (lambda v: Dropout(v), "p"),
                       (lambda v: CrossEntropyLoss(label_smoothing=v), "label_smoothing"),
                       (lambda v: SGD(params(), lr=v), "lr"),
                       (lambda v: Adam(params(), eps=v), "eps")]:
        with pytest.raises(TypeError, match=f"{name} must be a number"):
            make(value)


@given(st.one_of(st.just(math.nan), st.just(math.inf), st.just(-math.inf),
                 st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
                 st.floats(min_value=1.000001, allow_nan=False)))
def test_probabilities_and_rates_refuse_values_out_of_range(value):
    for make, name in [(lambda v: Dropout(v), "Dropout: p"),
                       (lambda v: CrossEntropyLoss(label_smoothing=v),
                        "CrossEntropyLoss: label_smoothing"),
                       (lambda v: SGD(params(), lr=0.1, dampening=v), "SGD: dampening"),
                       (lambda v: OneCycleLR(sgd(), 1.0, 10, pct_start=v),
                        "OneCycleLR: pct_start")]:
        with pytest.raises(ValueError, match=f"{name} must be"):
            make(value)


@given(st.sampled_from([np.int8, np.int32, np.int64, np.uint8, bool, np.complex128, object, "U3"]))
def test_parameter_dtypes_must_be_floating(dtype):
    with pytest.raises(TypeError, match="Linear: dtype must be a floating"):
        Linear(3, 2, dtype=dtype)
    with pytest.raises(TypeError, match="Sequential.to: dtype must be a floating"):
        Sequential(Linear(3, 2)).to(dtype)


def test_a_dtype_in_the_other_byte_order_is_refused():
    with pytest.raises(ValueError, match=r"Linear: dtype must be in the machine's byte order, "
                                         r"got >f4; use float32"):
        Linear(2, 2, dtype=">f4")  # it used to fail at the next layer, with a wrong hint


@pytest.mark.parametrize("layer", [Linear(2, 2), Conv2d(2, 2, 1)], ids=["Linear", "Conv2d"])
def test_an_input_in_the_other_byte_order_gets_a_cast_it_can_use(layer):
    x = np.ones((1, 2, 1, 1) if isinstance(layer, Conv2d) else (1, 2), ">f4")
    with pytest.raises(ValueError, match=rf"{type(layer).__name__}: input dtype >f4 does not match "
                                         r"the layer's dtype float32; cast the input with "
                                         r"x.astype\(np.float32\) \(a layer's dtype is in the "
                                         r"machine's byte order; x's is >f4\)$"):
        layer(x)
    np.testing.assert_array_equal(layer(x.astype(np.float32)), layer(np.ones(x.shape, np.float32)))
