"""Learning-rate schedulers: hand-computed sequences, PyTorch's sequences, state_dict, errors."""

import io
import math

import numpy as np
import pytest

from convnp import Parameter
from convnp.optim import (
    SGD,
    Adam,
    CosineAnnealingLR,
    LinearWarmup,
    LRScheduler,
    OneCycleLR,
    StepLR,
)

STEPS = 30


def make_opt(lr=0.1):
    return SGD([Parameter(np.zeros(1))], lr=lr)


def lr_sequence(opt, sched, steps=STEPS):
    """``opt.lr`` at t = 0, 1, ..., steps: before and after each of ``steps`` steps."""
    lrs = [opt.lr]
    for _ in range(steps):
        sched.step()
        assert sched.get_last_lr() == opt.lr and isinstance(opt.lr, float)
        lrs.append(opt.lr)
    return lrs


# ----------------------------------------------------------------- hand-computed
def test_step_lr():
    opt = make_opt(1.0)
    np.testing.assert_allclose(lr_sequence(opt, StepLR(opt, step_size=2, gamma=0.5), 6),
                               [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125], rtol=1e-15)


def test_cosine_annealing():
    # 0.01 + (1 - 0.01) * (1 + cos(pi t / 4)) / 2 at t = 0..5
    opt = make_opt(1.0)
    sched = CosineAnnealingLR(opt, T_max=4, eta_min=0.01)
    half = 0.99 * math.sqrt(2) / 4
    np.testing.assert_allclose(lr_sequence(opt, sched, 5),
                               [1.0, 0.505 + half, 0.505, 0.505 - half, 0.01, 0.505 - half],
                               rtol=1e-14)


def test_one_cycle_cos():
    # max_lr = 1, total 10, pct 0.3: initial 1/25 = 0.04, min 0.04/1e4 = 4e-6.
    # warm-up t = 0..2 (ends at 0.3*10 - 1 = 2), then t = 2..9 down to min_lr.
    opt = make_opt()
    sched = OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.3)
    up = [0.04 + 0.96 * (1 - math.cos(math.pi * t / 2)) / 2 for t in range(3)]
    down = [4e-6 + (1 - 4e-6) * (1 + math.cos(math.pi * (t - 2) / 7)) / 2 for t in range(3, 10)]
    np.testing.assert_allclose(lr_sequence(opt, sched, 9), up + down, rtol=1e-12)
    assert up == pytest.approx([0.04, 0.52, 1.0])


def test_one_cycle_linear_three_phase():
    # max_lr 1, div 10, final_div 100: initial 0.1, min 0.001; phases end at 1, 2 and 9
    opt = make_opt()
    sched = OneCycleLR(opt, 1.0, total_steps=10, pct_start=0.2, anneal_strategy="linear",
                       div_factor=10, final_div_factor=100, three_phase=True)
    expected = [0.1, 1.0, 0.1] + [0.1 + (0.001 - 0.1) * (t - 2) / 7 for t in range(3, 10)]
    np.testing.assert_allclose(lr_sequence(opt, sched, 9), expected, rtol=1e-12)


def test_one_cycle_ignores_the_optimizer_lr():
    opt = make_opt(lr=123.0)
    OneCycleLR(opt, max_lr=0.5, total_steps=10)
    assert opt.lr == pytest.approx(0.5 / 25)


def test_linear_warmup_alone_then_constant():
    opt = make_opt(1.0)
    sched = LinearWarmup(opt, warmup_steps=4, start_factor=0.2)
    np.testing.assert_allclose(lr_sequence(opt, sched, 6), [0.2, 0.4, 0.6, 0.8, 1, 1, 1],
                               rtol=1e-15)


def test_linear_warmup_then_step_lr():
    opt = make_opt(1.0)
    sched = LinearWarmup(opt, 2, start_factor=0.5, after=StepLR(opt, step_size=2, gamma=0.1))
    np.testing.assert_allclose(lr_sequence(opt, sched, 6), [0.5, 0.75, 1, 1, 0.1, 0.1, 0.01],
                               rtol=1e-15)


# ----------------------------------------------------------------- against PyTorch
def torch_lr_sequence(torch, make_sched, lr=0.1, steps=STEPS):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = make_sched(opt)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        assert sched.get_last_lr()[0] == lrs[-1]
    return lrs


def assert_matches_torch(make_ours, make_theirs, lr=0.1, steps=STEPS):
    torch = pytest.importorskip("torch")
    opt = make_opt(lr)
    ours = lr_sequence(opt, make_ours(opt), steps)
    theirs = torch_lr_sequence(torch, lambda o: make_theirs(torch.optim.lr_scheduler, o), lr,
                               steps)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("step_size, gamma", [(1, 0.5), (3, 0.1), (7, 0.9)])
def test_step_lr_matches_torch(step_size, gamma):
    assert_matches_torch(lambda o: StepLR(o, step_size, gamma),
                         lambda lrs, o: lrs.StepLR(o, step_size, gamma))


@pytest.mark.parametrize("T_max, eta_min", [(10, 0.0), (10, 1e-3), (30, 0.01), (7, 0.0)])
def test_cosine_annealing_matches_torch(T_max, eta_min):
    assert_matches_torch(lambda o: CosineAnnealingLR(o, T_max, eta_min),
                         lambda lrs, o: lrs.CosineAnnealingLR(o, T_max, eta_min))


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
@pytest.mark.parametrize("pct_start, div_factor, final_div_factor",
                         [(0.3, 25.0, 1e4), (0.25, 10.0, 100.0), (0.45, 5.0, 1e3)])
def test_one_cycle_matches_torch(three_phase, anneal_strategy, pct_start, div_factor,
                                 final_div_factor):
    kwargs = dict(max_lr=0.5, total_steps=STEPS, pct_start=pct_start,
                  anneal_strategy=anneal_strategy, div_factor=div_factor,
                  final_div_factor=final_div_factor, three_phase=three_phase)
    # t = 0..STEPS: torch allows stepping to t = total_steps, one past the cycle's end
    assert_matches_torch(lambda o: OneCycleLR(o, **kwargs),
                         lambda lrs, o: lrs.OneCycleLR(o, cycle_momentum=False, **kwargs))


def test_one_cycle_refuses_to_step_past_total_steps_like_torch():
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, 1.0, total_steps=3,
                                                 cycle_momentum=False)
    opt = make_opt()
    sched = OneCycleLR(opt, 1.0, total_steps=3)
    for _ in range(3):
        topt.step()
        tsched.step()
        sched.step()
    with pytest.raises(ValueError, match="total steps is 3"):
        tsched.step()
    lr = opt.lr
    with pytest.raises(ValueError, match="OneCycleLR: stepped 4 times, but total_steps is 3"):
        sched.step()
    assert sched.last_epoch == 3 and opt.lr == lr  # nothing changed


@pytest.mark.parametrize("start_factor", [0.1, 0.5, 1.0])
def test_linear_warmup_matches_torch_linear_lr(start_factor):
    assert_matches_torch(lambda o: LinearWarmup(o, 8, start_factor),
                         lambda lrs, o: lrs.LinearLR(o, start_factor, 1.0, total_iters=8))


@pytest.mark.parametrize("after", ["cosine", "step"])
def test_linear_warmup_with_after_matches_torch_sequential_lr(after):
    def ours(o):
        then = CosineAnnealingLR(o, 12, 1e-3) if after == "cosine" else StepLR(o, 5, 0.5)
        return LinearWarmup(o, 6, 0.1, after=then)

    def theirs(lrs, o):
        warm = lrs.LinearLR(o, 0.1, 1.0, total_iters=6)
        then = lrs.CosineAnnealingLR(o, 12, 1e-3) if after == "cosine" else lrs.StepLR(o, 5, 0.5)
        return lrs.SequentialLR(o, [warm, then], milestones=[6])

    assert_matches_torch(ours, theirs)


# ----------------------------------------------------------------- state_dict and resume
def npz_roundtrip(state):
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


MAKERS = {
    "step": lambda o: StepLR(o, 4, 0.5),
    "cosine": lambda o: CosineAnnealingLR(o, 10, 1e-3),
    "one-cycle": lambda o: OneCycleLR(o, 1.0, total_steps=STEPS, three_phase=True),
    "warmup": lambda o: LinearWarmup(o, 5, 0.1, after=CosineAnnealingLR(o, 20)),
}


@pytest.mark.parametrize("name", MAKERS)
def test_resume_gives_the_same_lr_sequence(name):
    make, k = MAKERS[name], 11
    opt = make_opt()
    straight = lr_sequence(opt, make(opt))

    opt = make_opt()
    sched = make(opt)
    first = lr_sequence(opt, sched, k)
    opt_state, sched_state = npz_roundtrip(opt.state_dict()), npz_roundtrip(sched.state_dict())
    opt2 = make_opt(lr=7.0)
    sched2 = make(opt2)
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(sched_state)
    assert sched2.get_last_lr() == sched.get_last_lr() == opt2.lr
    assert first + lr_sequence(opt2, sched2, STEPS - k)[1:] == straight


def test_state_dict_is_flat_arrays():
    opt = make_opt()
    state = StepLR(opt, 3, 0.5).state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    assert set(state) == {"type", "base_lr", "last_epoch", "step_size", "gamma"}
    warm = LinearWarmup(opt, 2, after=CosineAnnealingLR(opt, 5)).state_dict()
    assert {"warmup_steps", "start_factor", "after.type", "after.T_max"} <= set(warm)
    assert warm["after.type"] == "CosineAnnealingLR"


def test_load_state_dict_restores_hyperparameters():
    opt = make_opt()
    sched = OneCycleLR(make_opt(), 0.1, total_steps=5)
    sched.load_state_dict(OneCycleLR(opt, 2.0, 40, anneal_strategy="linear").state_dict())
    assert (sched.max_lr, sched.total_steps, sched.anneal_strategy) == (2.0, 40, "linear")
    assert isinstance(sched.total_steps, int)


def test_load_state_dict_errors():
    opt = make_opt()
    with pytest.raises(ValueError, match="saved by StepLR, expected CosineAnnealingLR"):
        CosineAnnealingLR(opt, 5).load_state_dict(StepLR(opt, 2).state_dict())
    state = StepLR(opt, 2).state_dict()
    del state["gamma"]
    with pytest.raises(KeyError, match=r"missing keys \['gamma'\]"):
        StepLR(opt, 2).load_state_dict(state)
    alone = LinearWarmup(opt, 2).state_dict()
    with pytest.raises(ValueError, match="state has no 'after' scheduler, this LinearWarmup"):
        LinearWarmup(opt, 2, after=StepLR(opt, 2)).load_state_dict(alone)


# ----------------------------------------------------------------- errors and repr
@pytest.mark.parametrize("make, message", [
    (lambda o: StepLR(o, 0), "StepLR: step_size must be >= 1, got 0"),
    (lambda o: CosineAnnealingLR(o, 0), "CosineAnnealingLR: T_max must be >= 1"),
    (lambda o: OneCycleLR(o, 1.0, 0), "OneCycleLR: total_steps must be >= 1"),
    (lambda o: OneCycleLR(o, 1.0, 10, pct_start=1.5), r"pct_start must be in \[0, 1\]"),
    (lambda o: OneCycleLR(o, 1.0, 10, anneal_strategy="exp"),
     "anneal_strategy must be one of 'cos', 'linear', got 'exp'"),
    (lambda o: OneCycleLR(o, 1.0, 10, pct_start=0.1), "no phase is 0 steps long"),
    (lambda o: LinearWarmup(o, 0), "LinearWarmup: warmup_steps must be >= 1"),
    (lambda o: LinearWarmup(o, 5, start_factor=0), r"start_factor must be in \(0, 1\]"),
    (lambda o: LinearWarmup(o, 5, after=StepLR(make_opt(), 2)),
     "after must be None or a scheduler on the same optimizer"),
])
def test_invalid_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make(make_opt())


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="StepLR: expected an Optimizer, got list"):
        StepLR([], 2)


def test_base_class_lr_at_is_abstract():
    with pytest.raises(NotImplementedError, match="LRScheduler.lr_at"):
        LRScheduler(make_opt())


def test_works_with_adam_and_repr():
    opt = Adam([Parameter(np.zeros(1))], lr=0.01)
    sched = StepLR(opt, 1, gamma=0.5)
    sched.step()
    assert opt.lr == 0.005
    assert repr(sched) == "StepLR(step_size=1, gamma=0.5)"
