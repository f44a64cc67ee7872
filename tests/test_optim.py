"""Optimizers without PyTorch: hand-computed updates, state_dict, resume, dtypes, errors."""

import copy
import io
import math

import numpy as np
import pytest

from convnp import Parameter
from convnp.optim import SGD, Adam, AdamW, Optimizer, RMSprop


def run(opt_cls, grads, p0=1.0, **kwargs):
    """Step a 1-element parameter through ``grads``; return its value after each step."""
    p = Parameter(np.array([p0]))
    opt = opt_cls([p], **kwargs)
    values = []
    for g in grads:
        p.grad[...] = g
        opt.step()
        values.append(p.data[0])
    return values


# ----------------------------------------------------------------- hand-computed SGD
def test_sgd_plain():
    # p = p - lr * g with lr = 0.1: 1 - 0.1 = 0.9; 0.9 - 0.2 = 0.7; 0.7 + 0.1 = 0.8
    np.testing.assert_allclose(run(SGD, [1.0, 2.0, -1.0], lr=0.1), [0.9, 0.7, 0.8],
                               rtol=1e-12)


def test_sgd_momentum():
    # b = g on the first step, then b = 0.9 b + g:  b = 1, 2.9, 1.61
    # p = 1 - 0.1*1 = 0.9;  0.9 - 0.29 = 0.61;  0.61 - 0.161 = 0.449
    np.testing.assert_allclose(run(SGD, [1.0, 2.0, -1.0], lr=0.1, momentum=0.9),
                               [0.9, 0.61, 0.449], rtol=1e-12)


def test_sgd_dampening():
    # b = g on the first step (no dampening), then b = 0.9 b + 0.5 g:  b = 1, 1.9, 1.21
    # p = 1 - 0.1 = 0.9;  0.9 - 0.19 = 0.71;  0.71 - 0.121 = 0.589
    np.testing.assert_allclose(
        run(SGD, [1.0, 2.0, -1.0], lr=0.1, momentum=0.9, dampening=0.5),
        [0.9, 0.71, 0.589], rtol=1e-12)


def test_sgd_nesterov():
    # b = 1, 2.9, 1.61 as with momentum; the step uses g + 0.9 b = 1.9, 4.61, 0.449
    # p = 1 - 0.19 = 0.81;  0.81 - 0.461 = 0.349;  0.349 - 0.0449 = 0.3041
    np.testing.assert_allclose(
        run(SGD, [1.0, 2.0, -1.0], lr=0.1, momentum=0.9, nesterov=True),
        [0.81, 0.349, 0.3041], rtol=1e-12)


def test_sgd_weight_decay():
    # g = grad + 0.1 p:  1 + 0.1 = 1.1 -> p = 0.89
    #                    2 + 0.089 = 2.089 -> p = 0.6811
    #                    -1 + 0.06811 = -0.93189 -> p = 0.774289
    np.testing.assert_allclose(run(SGD, [1.0, 2.0, -1.0], lr=0.1, weight_decay=0.1),
                               [0.89, 0.6811, 0.774289], rtol=1e-12)


def test_sgd_momentum_with_weight_decay():
    # g = 1 + 0.1*1 = 1.1, b = 1.1, p = 1 - 0.11 = 0.89
    # g = 2 + 0.089 = 2.089, b = 0.99 + 2.089 = 3.079, p = 0.89 - 0.3079 = 0.5821
    np.testing.assert_allclose(
        run(SGD, [1.0, 2.0], lr=0.1, momentum=0.9, weight_decay=0.1), [0.89, 0.5821],
        rtol=1e-12)


# ----------------------------------------------------------------- hand-computed Adam(W)
# Gradients 1 then 2, lr = 0.1, betas = (0.9, 0.999), eps = 1e-8:
#   t=1: m = 0.1,  v = 0.001;     1 - 0.9 = 0.1,   1 - 0.999 = 0.001
#   t=2: m = 0.09 + 0.2 = 0.29,   v = 0.000999 + 0.004 = 0.004999
#        1 - 0.9**2 = 0.19,       1 - 0.999**2 = 0.001999
ADAM_STEP_1 = (0.1 / 0.1) * 0.1 / (math.sqrt(0.001) / math.sqrt(0.001) + 1e-8)
ADAM_STEP_2 = (0.1 / 0.19) * 0.29 / (math.sqrt(0.004999) / math.sqrt(0.001999) + 1e-8)


def test_adam():
    values = run(Adam, [1.0, 2.0], lr=0.1)
    np.testing.assert_allclose(values, [1 - ADAM_STEP_1, 1 - ADAM_STEP_1 - ADAM_STEP_2],
                               rtol=1e-12)
    np.testing.assert_allclose(values, [0.900000001, 0.8034817990281656], rtol=1e-12)


def test_adam_eps_is_added_after_the_bias_correction():
    # eps = 0.1, one step of g = 1: m = 0.1, v = 0.001, p = 1 - 1.0 * 0.1 / (1 + 0.1)
    np.testing.assert_allclose(run(Adam, [1.0], lr=0.1, eps=0.1), [1 - 0.1 / 1.1],
                               rtol=1e-12)


def test_adam_l2_weight_decay_goes_into_the_gradient():
    # weight_decay = 0.5: g = 1 + 0.5*1 = 1.5, m = 0.15, v = 0.00225,
    # p = 1 - 1.0 * 0.15 / (sqrt(0.00225) / sqrt(0.001) + 1e-8) = 1 - 0.15 / (1.5 + 1e-8)
    np.testing.assert_allclose(run(Adam, [1.0], lr=0.1, weight_decay=0.5),
                               [1 - 0.15 / (1.5 + 1e-8)], rtol=1e-12)


def test_adamw_decoupled_weight_decay():
    # weight_decay = 0.5: p is first multiplied by 1 - 0.1*0.5 = 0.95, then Adam's step
    # with the plain gradient (the same m, v and steps as in test_adam).
    p1 = 1 * 0.95 - ADAM_STEP_1
    np.testing.assert_allclose(run(AdamW, [1.0, 2.0], lr=0.1, weight_decay=0.5),
                               [p1, p1 * 0.95 - ADAM_STEP_2], rtol=1e-12)


def test_adamw_default_weight_decay_is_1e_2():
    # zero gradient: only the decay acts, p = 1 * (1 - 0.1 * 0.01)
    np.testing.assert_allclose(run(AdamW, [0.0], lr=0.1), [0.999], rtol=1e-12)
    np.testing.assert_allclose(run(Adam, [0.0], lr=0.1), [1.0], rtol=1e-12)


# ----------------------------------------------------------------- shared behaviour
CONFIGS = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=1e-2)),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (Adam, dict(lr=0.01, weight_decay=1e-2)),
    (AdamW, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
]
IDS = ["sgd", "sgd-momentum", "sgd-nesterov", "adam", "adamw"]


def make_params(rng, dtype=np.float64):
    return [Parameter(rng.standard_normal(shape).astype(dtype)) for shape in [(3, 4), (4,), ()]]


def fill_grads(params, rng):
    for p in params:
        p.grad[...] = rng.standard_normal(p.shape)


@pytest.mark.parametrize("opt_cls, kwargs", CONFIGS, ids=IDS)
def test_step_updates_in_place_and_keeps_float32(opt_cls, kwargs):
    rng = np.random.default_rng(0)
    params = make_params(rng, np.float32)
    arrays = [p.data for p in params]
    opt = opt_cls(params, **kwargs)
    for _ in range(3):
        fill_grads(params, rng)
        opt.step()
    for p, before in zip(params, arrays):
        assert p.data is before
        assert p.data.dtype == np.float32
    for state in opt.state.values():
        for name, value in state.items():
            assert value.dtype == (np.int64 if name == "step" else np.float32), name


@pytest.mark.parametrize("opt_cls, kwargs", CONFIGS, ids=IDS)
def test_float32_matches_float64_to_float32_precision(opt_cls, kwargs):
    rng = np.random.default_rng(1)
    p64 = make_params(rng)
    p32 = [Parameter(p.data.astype(np.float32)) for p in p64]
    opt64, opt32 = opt_cls(p64, **kwargs), opt_cls(p32, **kwargs)
    for _ in range(5):
        fill_grads(p64, rng)
        for a, b in zip(p64, p32):
            b.grad[...] = a.grad
        opt64.step()
        opt32.step()
    for a, b in zip(p64, p32):
        np.testing.assert_allclose(b.data, a.data, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opt_cls, kwargs", CONFIGS, ids=IDS)
def test_frozen_parameters_are_skipped(opt_cls, kwargs):
    rng = np.random.default_rng(2)
    params = make_params(rng)
    params[1].requires_grad = False
    initial = [p.data.copy() for p in params]
    opt = opt_cls(params, **{**kwargs, "weight_decay": 0.1})
    for _ in range(3):
        fill_grads(params, rng)
        opt.step()
    np.testing.assert_array_equal(params[1].data, initial[1])
    assert 1 not in opt.state
    assert not np.array_equal(params[0].data, initial[0])


@pytest.mark.parametrize("opt_cls, kwargs", CONFIGS, ids=IDS)
def test_zero_grad_zeros_every_gradient_in_place(opt_cls, kwargs):
    rng = np.random.default_rng(3)
    params = make_params(rng)
    params[0].requires_grad = False
    fill_grads(params, rng)
    grads = [p.grad for p in params]
    opt_cls(params, **kwargs).zero_grad()
    for p, g in zip(params, grads):
        assert p.grad is g
        np.testing.assert_array_equal(p.grad, 0)


# ----------------------------------------------------------------- state_dict and resume
def npz_roundtrip(state):
    """Save into an in-memory .npz without pickle and read it back."""
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("opt_cls, kwargs", CONFIGS, ids=IDS)
def test_resume_is_bit_for_bit(opt_cls, kwargs, dtype):
    n, k = 10, 4
    grad_rng = np.random.default_rng(4)
    grads = [[grad_rng.standard_normal(p.shape) for p in make_params(grad_rng)]
             for _ in range(n)]

    def feed(params, opt, steps):
        for step_grads in steps:
            for p, g in zip(params, step_grads):
                p.grad[...] = g
            opt.step()

    straight = make_params(np.random.default_rng(5), dtype)
    feed(straight, opt_cls(straight, **kwargs), grads)

    first = make_params(np.random.default_rng(5), dtype)
    opt = opt_cls(first, **kwargs)
    feed(first, opt, grads[:k])
    state = npz_roundtrip(opt.state_dict())
    resumed = [Parameter(p.data.copy()) for p in first]
    opt2 = opt_cls(resumed, **{**kwargs, "lr": 123.0})  # the saved lr must win
    opt2.load_state_dict(state)
    feed(resumed, opt2, grads[k:])
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(b.data, a.data)


def test_state_dict_is_flat_arrays_with_the_expected_keys():
    p = [Parameter(np.zeros(2)), Parameter(np.zeros(3))]
    p[1].grad[...] = 1.0
    p[0].requires_grad = False
    sgd = SGD(p, lr=0.1, momentum=0.9)
    sgd.step()
    state = sgd.state_dict()
    assert all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in state.items())
    assert set(state) == {"type", "num_params", "lr", "momentum", "dampening", "nesterov",
                          "weight_decay", "state.1.momentum_buffer"}
    assert state["type"] == "SGD" and state["lr"] == 0.1 and state["lr"].ndim == 0
    np.testing.assert_array_equal(state["state.1.momentum_buffer"], [1.0, 1.0, 1.0])

    adam = Adam(p, betas=(0.8, 0.9))
    adam.step()
    state = adam.state_dict()
    assert {"betas", "eps", "state.1.step", "state.1.exp_avg", "state.1.exp_avg_sq"} <= set(state)
    np.testing.assert_array_equal(state["betas"], [0.8, 0.9])
    assert state["state.1.step"] == 1


def test_state_dict_and_load_copy_the_arrays():
    p = Parameter(np.zeros(2))
    p.grad[...] = 1.0
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step()
    state = opt.state_dict()
    state["state.0.momentum_buffer"][...] = 99.0
    np.testing.assert_array_equal(opt.state[0]["momentum_buffer"], 1.0)
    opt.load_state_dict(state)
    state["state.0.momentum_buffer"][...] = -1.0
    np.testing.assert_array_equal(opt.state[0]["momentum_buffer"], 99.0)


def test_load_state_dict_restores_hyperparameters():
    opt = Adam([Parameter(np.zeros(1))], lr=0.5, betas=(0.5, 0.6), eps=0.1, weight_decay=0.2)
    other = Adam([Parameter(np.zeros(1))])
    other.load_state_dict(opt.state_dict())
    assert (other.lr, other.betas, other.eps, other.weight_decay) == (0.5, (0.5, 0.6), 0.1, 0.2)
    assert isinstance(other.lr, float) and isinstance(other.betas, tuple)


def stepped(opt_cls, params, **kwargs):
    opt = opt_cls(params, **kwargs)
    for p in params:
        p.grad[...] = 1.0
    opt.step()
    return opt


def test_load_state_dict_rejects_another_optimizer_type():
    state = stepped(Adam, [Parameter(np.zeros(2))]).state_dict()
    with pytest.raises(ValueError, match="AdamW.load_state_dict: .* saved by Adam, expected AdamW"):
        AdamW([Parameter(np.zeros(2))]).load_state_dict(state)
    with pytest.raises(ValueError, match="saved by Adam, expected SGD"):
        SGD([Parameter(np.zeros(2))], lr=0.1).load_state_dict(state)


def test_load_state_dict_rejects_another_number_of_parameters():
    state = stepped(SGD, [Parameter(np.zeros(2))], lr=0.1, momentum=0.9).state_dict()
    params = [Parameter(np.zeros(2)), Parameter(np.zeros(2))]
    with pytest.raises(ValueError, match="state is for 1 parameters, this optimizer has 2"):
        SGD(params, lr=0.1, momentum=0.9).load_state_dict(state)


def test_load_state_dict_rejects_other_shapes_and_dtypes():
    state = stepped(Adam, [Parameter(np.zeros(2))]).state_dict()
    with pytest.raises(ValueError, match=r"'state.0.exp_avg' expected shape \(3,\)"):
        Adam([Parameter(np.zeros(3))]).load_state_dict(state)
    with pytest.raises(ValueError, match="dtype float32, got .* float64"):
        Adam([Parameter(np.zeros(2, np.float32))]).load_state_dict(state)


def test_load_state_dict_rejects_missing_and_unexpected_keys():
    state = stepped(Adam, [Parameter(np.zeros(2))]).state_dict()
    opt = Adam([Parameter(np.zeros(2))], lr=0.5)
    with pytest.raises(KeyError, match=r"missing keys \['state.0.exp_avg_sq'\]"):
        opt.load_state_dict({k: v for k, v in state.items() if k != "state.0.exp_avg_sq"})
    with pytest.raises(KeyError, match=r"unexpected keys \['bogus'\]"):
        opt.load_state_dict({**state, "bogus": np.array(1)})
    assert opt.lr == 0.5 and opt.state == {}  # nothing was changed by the failed loads


# ----------------------------------------------------------------- errors and repr
@pytest.mark.parametrize("make, message", [
    (lambda p: SGD(p, lr=-0.1), "SGD: lr must be >= 0, got -0.1"),
    (lambda p: SGD(p, lr=0.1, momentum=-1), "SGD: momentum must be >= 0, got -1"),
    (lambda p: SGD(p, lr=0.1, weight_decay=-1), "SGD: weight_decay must be >= 0, got -1"),
    (lambda p: SGD(p, lr=0.1, nesterov=True),
     "SGD: momentum must be > 0 when nesterov=True, got 0"),
    (lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "SGD: dampening must be 0 when nesterov=True, got 0.1"),
    (lambda p: Adam(p, lr=-1), "Adam: lr must be >= 0, got -1"),
    (lambda p: Adam(p, betas=(1.0, 0.9)), r"Adam: betas\[0\] must be in \[0, 1\), got 1.0"),
    (lambda p: Adam(p, betas=(0.9, -0.1)), r"Adam: betas\[1\] must be in \[0, 1\), got -0.1"),
    (lambda p: Adam(p, eps=-1e-8), "Adam: eps must be >= 0, got -1e-08"),
    (lambda p: AdamW(p, weight_decay=-1), "AdamW: weight_decay must be >= 0, got -1"),
])
def test_invalid_hyperparameters_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make([Parameter(np.zeros(1))])


def test_invalid_parameter_lists_raise():
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match=r"Adam: params\[1\] should be a Parameter, got ndarray"):
        Adam([Parameter(np.zeros(1)), np.zeros(1)])
    p = Parameter(np.zeros(1))
    with pytest.raises(ValueError, match=r"params\[1\] appears twice"):
        SGD([p, p], lr=0.1)


def test_params_may_be_a_generator():
    params = [Parameter(np.zeros(1)), Parameter(np.zeros(2))]
    assert SGD((p for p in params), lr=0.1).params == params


def test_base_class_step_is_abstract():
    with pytest.raises(NotImplementedError, match="Optimizer.step"):
        Optimizer([Parameter(np.zeros(1))]).step()


def test_repr_shows_hyperparameters():
    p = [Parameter(np.zeros(1))]
    assert repr(SGD(p, lr=0.1, momentum=0.9)) == (
        "SGD(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False)")
    assert repr(AdamW(p)) == (
        "AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01)")


@pytest.mark.parametrize("name, value, error, message", [
    ("lr", float("nan"), ValueError, r"SGD: lr must be a finite number, got nan"),
    ("lr", "0.1", TypeError, r"SGD: lr must be a number, got str '0.1'"),
    ("lr", np.array([0.1, 0.2]), TypeError, r"SGD: lr must be a number, got ndarray"),
    ("momentum", -1, ValueError, r"SGD: momentum must be >= 0, got -1.0"),
    ("nesterov", 1, TypeError, r"SGD: nesterov must be a bool"),
])
def test_hyperparameters_set_after_construction_are_checked(name, value, error, message):
    opt = SGD([Parameter(np.zeros(2))], lr=0.1, momentum=0.9)
    with pytest.raises(error, match=message):
        setattr(opt, name, value)
    assert (opt.lr, opt.momentum, opt.nesterov) == (0.1, 0.9, False)
    opt.lr = -0.01  # a schedule may overshoot below 0, as PyTorch allows
    assert opt.lr == -0.01


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps)])
def test_state_follows_the_parameters_dtype_after_model_to(make, tmp_path):
    from convnp.checkpoint import load_checkpoint, save_checkpoint
    from convnp.layers import Linear, Sequential

    model = Sequential(Linear(3, 2, rng=np.random.default_rng(0)))
    opt = make(model.parameters())
    for dtype in (np.float32, np.float64):  # a step before and after the cast
        model.to(dtype)
        for p in model.parameters():
            p.grad[...] = 1
        opt.step()
    assert all(v.dtype == np.float64 for v in opt.state[0].values() if v.dtype.kind == "f")
    save_checkpoint(tmp_path / "c.npz", model, opt)
    load_checkpoint(tmp_path / "c.npz", model, opt)  # used to fail: float32 state saved


@pytest.mark.parametrize("change, error, message", [
    (lambda s: s.update({"state.0.step": np.array(-1)}), ValueError,
     r"Adam.load_state_dict: 'state.0.step' must be >= 0"),
    (lambda s: s.update({"state.0.exp_avg_sq": -np.ones(2)}), ValueError,
     r"Adam.load_state_dict: 'state.0.exp_avg_sq' must be >= 0"),
    (lambda s: s.pop("type"), ValueError, r"this is not a convnp Adam state .* PyTorch's are"),
])
def test_adam_state_that_would_break_the_next_step_is_refused(change, error, message):
    opt = Adam([Parameter(np.zeros(2))])
    opt.params[0].grad[...] = 1
    opt.step()
    state = opt.state_dict()
    change(state)
    before = {k: v.copy() for k, v in opt.state[0].items()}
    with pytest.raises(error, match=message):
        opt.load_state_dict(state)
    assert all(np.array_equal(opt.state[0][k], v) for k, v in before.items())


@pytest.mark.parametrize("state", [None, [("lr", 0.1)]])
def test_load_state_dict_of_a_non_dict_is_a_type_error(state):
    with pytest.raises(TypeError, match=r"SGD.load_state_dict: expected a dict of arrays by "
                                        r"name, as state_dict\(\) returns"):
        SGD([Parameter(np.zeros(2))], lr=0.1).load_state_dict(state)


def test_load_state_dict_checks_hyperparameters_together_not_one_by_one():
    plain = SGD([Parameter(np.zeros(2))], lr=0.1, momentum=0.0)
    nesterov = SGD([Parameter(np.zeros(2))], lr=0.5, momentum=0.9, nesterov=True)
    nesterov.load_state_dict(plain.state_dict())  # momentum 0 before nesterov False: fine
    assert (nesterov.lr, nesterov.momentum, nesterov.nesterov) == (0.1, 0.0, False)


def test_a_custom_optimizer_may_set_its_hyperparameters_in_init():
    class Scaled(Optimizer):
        hyperparameters = ("lr", "scale")

        def __init__(self, params, lr=0.1, scale=2.0):
            super().__init__(params)
            self.lr, self.scale = lr, scale

        def checked_hyperparameters(self, values):
            return values

        def step(self):
            for _, p in self._trainable():
                p.data -= self.lr * self.scale * p.grad

    opt = Scaled([Parameter(np.ones(1))])
    opt.params[0].grad[...] = 1
    opt.step()
    assert opt.params[0].data.tolist() == [0.8]


def test_frozen_parameters_state_follows_model_to(tmp_path):
    from convnp.checkpoint import load_checkpoint, save_checkpoint
    from convnp.layers import Linear, Sequential

    model = Sequential(Linear(3, 2, rng=np.random.default_rng(0)))
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for p in model.parameters():
        p.grad[...] = 1
    opt.step()
    model[0].weight.requires_grad = False  # frozen after training: its state stays
    model.to(np.float64)
    opt.step()
    save_checkpoint(tmp_path / "c.npz", model, opt)
    load_checkpoint(tmp_path / "c.npz", model, opt)


def test_pytorch_param_groups_gets_an_explanation():
    opt = SGD([Parameter(np.zeros(2))], lr=0.1)
    with pytest.raises(AttributeError, match=r"SGD has no param_groups: a convnp optimizer holds "
                                             r"one group .* set opt.lr = \.\.\."):
        _ = opt.param_groups
    with pytest.raises(AttributeError, match=r"'SGD' object has no attribute 'momentum_buffer'"):
        _ = opt.momentum_buffer
    assert copy.deepcopy(opt).lr == 0.1


def test_rmsprop_reproduces_cs231n_reference():
    """CS231n assignment 2's RMSProp check (FullyConnectedNets.ipynb): its ``cache`` is
    ``square_avg``, its ``decay_rate`` 0.99 is ``alpha``; the notebook expects relative
    errors around 1e-7 or less from values printed to 8 decimals."""
    N, D = 4, 5
    w = Parameter(np.linspace(-0.4, 0.6, num=N * D).reshape(N, D))
    w.grad[...] = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    opt = RMSprop([w], lr=1e-2)
    opt.state[0] = {"step": np.zeros((), np.int64),
                    "square_avg": np.linspace(0.6, 0.9, num=N * D).reshape(N, D)}
    opt.step()
    expected_next_w = np.asarray([
        [-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
        [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
        [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
        [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]])
    expected_cache = np.asarray([
        [0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
        [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
        [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
        [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]])
    np.testing.assert_allclose(w.data, expected_next_w, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(opt.state[0]["square_avg"], expected_cache, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("kwargs, message", [
    (dict(alpha=1.0), r"RMSprop: alpha must be in \[0, 1\), got 1.0"),
    (dict(momentum=-0.1), r"RMSprop: momentum must be >= 0"),
    (dict(centered=1), r"RMSprop: centered must be a bool, got int 1"),
])
def test_rmsprop_checks_its_hyperparameters(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        RMSprop([Parameter(np.zeros(2))], **kwargs)


def test_rmsprop_state_round_trip_resumes_exactly_and_follows_its_options():
    def run(opt, p, grads):
        for g in grads:
            p.grad[...] = g
            opt.step()

    grads = list(np.random.default_rng(0).standard_normal((6, 3)))
    p, q = Parameter(np.ones(3)), Parameter(np.ones(3))
    straight = RMSprop([p], lr=0.1, momentum=0.9, centered=True)
    run(straight, p, grads)
    first = RMSprop([q], lr=0.1, momentum=0.9, centered=True)
    run(first, q, grads[:3])
    resumed = RMSprop([q], lr=0.1, momentum=0.9, centered=True)
    resumed.load_state_dict(first.state_dict())
    run(resumed, q, grads[3:])
    np.testing.assert_array_equal(p.data, q.data)
    assert sorted(straight.state[0]) == ["grad_avg", "momentum_buffer", "square_avg", "step"]
    plain = RMSprop([Parameter(np.ones(3))])  # takes the saved options with their arrays
    plain.load_state_dict(first.state_dict())
    assert (plain.momentum, plain.centered) == (0.9, True)
    plain.momentum, plain.centered = 0.0, False  # an option turned off keeps its array
    plain.load_state_dict(plain.state_dict())
    with pytest.raises(KeyError, match=r"RMSprop.load_state_dict: missing keys "
                                       r"\['state.0.square_avg'\]"):
        state = first.state_dict()
        del state["state.0.square_avg"]
        plain.load_state_dict(state)
