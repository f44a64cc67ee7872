"""Tests of convnp.viz (with matplotlib's Agg canvas) and of examples/edge_detection.py."""

import os
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from convnp import viz
from convnp.kernels import KERNELS
from convnp.layers import Conv2d, Sequential
from convnp.models.lenet import lenet5

matplotlib = pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[1]


def assert_png(path):
    assert Path(path).read_bytes()[:8] == PNG_SIGNATURE
    leftovers = [p.name for p in Path(path).parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


@pytest.fixture
def net():
    return lenet5("modern", rng=np.random.default_rng(0))


def test_show_images(tmp_path):
    x = np.random.default_rng(0).random((5, 1, 28, 20))
    fig = viz.show_images(x, labels=[3, 1, 4, 1, 5], ncols=2, save=tmp_path / "a.png")
    assert len(fig.axes) == 5
    assert [ax.get_title() for ax in fig.axes] == ["3", "1", "4", "1", "5"]
    assert fig.axes[0].images[0].get_array().shape == (28, 20)
    assert_png(tmp_path / "a.png")
    assert len(viz.show_images(np.zeros((7, 9))).axes) == 1
    colour = viz.show_images(np.random.default_rng(1).random((2, 3, 4, 6)))
    assert colour.axes[1].images[0].get_array().shape == (4, 6, 3)


def test_show_images_errors():
    with pytest.raises(ValueError, match="show_images: got 2 images but 1 labels"):
        viz.show_images(np.zeros((2, 4, 4)), labels=[0])
    with pytest.raises(ValueError, match=r"show_images: expected images .* got \(2, 2, 4, 4\)"):
        viz.show_images(np.zeros((2, 2, 4, 4)))


def test_plot_kernels(tmp_path, net):
    fig = viz.plot_kernels(net[3], save=tmp_path / "k.png")
    assert len(fig.axes) == 16 * 6
    shown = fig.axes[6 * 2 + 5].images[0].get_array()  # output channel 2, input channel 5
    np.testing.assert_array_equal(shown, net[3].weight.data[2, 5])
    assert_png(tmp_path / "k.png")
    assert len(viz.plot_kernels(np.stack(list(KERNELS.values()))).axes) == len(KERNELS)
    assert len(viz.plot_kernels(KERNELS["sobel_x"]).axes) == 1
    with pytest.raises(ValueError, match="plot_kernels: expected a Conv2d"):
        viz.plot_kernels(np.zeros((1, 1, 1, 3, 3)))


def test_plot_feature_maps(tmp_path, net):
    x = np.random.default_rng(0).random((28, 28))
    fig = viz.plot_feature_maps(net, x, 0, save=tmp_path / "f.png")
    assert len(fig.axes) == 6
    expected = net[0](x[None, None].astype(np.float32))[0, 4]
    np.testing.assert_allclose(fig.axes[4].images[0].get_array(), expected, rtol=1e-6)
    assert_png(tmp_path / "f.png")
    assert len(viz.plot_feature_maps(net, x[None], 5).axes) == 16
    assert len(viz.plot_feature_maps(net, x[None, None], -8).axes) == 16
    assert all(m.training and m.cache_enabled for m in net.modules())
    with pytest.raises(ValueError, match=r"layer 6 \(Flatten\) outputs shape \(1, 400\)"):
        viz.plot_feature_maps(net, x, 6)
    with pytest.raises(ValueError, match=r"layer_index must be in \[-12, 12\), got 12"):
        viz.plot_feature_maps(net, x, 12)
    with pytest.raises(ValueError, match="expected one image"):
        viz.plot_feature_maps(net, np.zeros((2, 1, 28, 28)), 0)


@pytest.mark.parametrize("val_loss, val_acc, lr, n_axes, n_loss_lines", [
    ([1.5, 1.2], [0.5, 0.6], [0.1, 0.05], 3, 2),
    ([], None, [], 2, 1),
    ([float("nan")] * 2, [float("nan")] * 2, None, 2, 1),  # History without validation
])
def test_plot_history(tmp_path, val_loss, val_acc, lr, n_axes, n_loss_lines):
    h = SimpleNamespace(train_loss=[2.0, 1.0], train_acc=[0.3, 0.7], val_loss=val_loss,
                        val_acc=val_acc, lr=lr)
    fig = viz.plot_history(h, save=tmp_path / "h.png")
    assert len(fig.axes) == n_axes
    assert [ax.get_title() for ax in fig.axes][:2] == ["loss", "accuracy"]
    assert len(fig.axes[0].lines) == len(fig.axes[1].lines) == n_loss_lines
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), [1, 2])
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), [2.0, 1.0])
    if n_loss_lines == 2:
        np.testing.assert_array_equal(fig.axes[1].lines[1].get_ydata(), [0.5, 0.6])
    assert_png(tmp_path / "h.png")


def test_plot_history_of_a_trainer_without_validation():
    from convnp.train import History

    h = History()
    for epoch in range(3):
        h.append(train_loss=1.0 / (epoch + 1), train_acc=0.5 + epoch / 10, val_loss=np.nan,
                 val_acc=np.nan, lr=0.1, seconds=1.0, images_per_sec=100.0)
    fig = viz.plot_history(h)
    assert len(fig.axes) == 3 and [len(ax.lines) for ax in fig.axes] == [1, 1, 1]
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), [0.5, 0.6, 0.7])


def test_plot_kernels_wraps_a_single_input_channel(net):
    fig = viz.plot_kernels(net[0])
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes] == ["0", "1", "2", "3", "4", "5"]
    many = viz.plot_kernels(np.zeros((20, 1, 3, 3)))
    assert many.axes[19].get_subplotspec().get_geometry()[:2] == (3, 8)


def test_plot_receptive_field(tmp_path):
    net = Sequential(Conv2d(1, 1, 3, padding=1), Conv2d(1, 1, 3, stride=2, padding=1))
    image = np.random.default_rng(0).random((9, 12))
    fig = viz.plot_receptive_field(net, (9, 12), (0, 3), image=image, save=tmp_path / "r.png")
    assert len(fig.axes) == 2
    shaded = fig.axes[0].patches[0]
    # output (0, 3): rows -2..2 -> 0..2, columns 4..8
    assert (shaded.get_y() + 0.5, shaded.get_x() + 0.5) == (0, 4)
    assert (shaded.get_height(), shaded.get_width()) == (3, 5)
    outline = fig.axes[0].patches[1]
    assert (outline.get_y() + 0.5, outline.get_height()) == (-2, 5)
    assert_png(tmp_path / "r.png")
    with pytest.raises(ValueError, match="image must have shape"):
        viz.plot_receptive_field(net, (9, 12), (0, 3), image=np.zeros((12, 9)))


def test_no_global_matplotlib_state_changes(tmp_path):
    backend = matplotlib.get_backend()
    pyplot_loaded = "matplotlib.pyplot" in sys.modules
    viz.show_images(np.zeros((2, 4, 4)), save=tmp_path / "s.png")
    assert matplotlib.get_backend() == backend
    assert ("matplotlib.pyplot" in sys.modules) == pyplot_loaded


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    fig = viz.show_images(np.zeros((1, 4, 4)))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        viz._finish(fig, tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_clear_import_error_without_matplotlib(monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"pip install convnp\[plot\]"):
        viz.show_images(np.zeros((1, 4, 4)))


def test_import_convnp_does_not_import_matplotlib():
    code = ("import sys; sys.modules['matplotlib'] = None; import convnp, convnp.viz; "
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "ok"


def test_edge_detection_example(tmp_path, capsys):
    main = runpy.run_path(str(ROOT / "examples" / "edge_detection.py"), run_name="example")["main"]
    out = tmp_path / "edges.png"
    assert main(["--out", str(out), "--n-digits", "3"]) == str(out)
    assert_png(out)
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    assert os.path.getsize(out) > 10_000


@pytest.mark.parametrize("call, error, message", [
    (lambda net: viz.plot_kernels(net[1]), TypeError,
     r"plot_kernels: expected a conv layer \(with a weight\) .* got ReLU"),
    (lambda net: viz.plot_kernels(net), TypeError, r"got Sequential; for a model, pick its "
                                                   r"layer, e.g. plot_kernels\(model\[0\]\)"),
    (lambda net: viz.plot_history(None), ValueError,
     r"plot_history: expected a History with at least one epoch .* got NoneType"),
    (lambda net: viz.plot_history(SimpleNamespace(train_loss=[])), ValueError,
     r"at least one epoch"),
    (lambda net: viz.show_images(np.zeros((4, 8, 8)), labels=3), TypeError,
     r"show_images: labels must be a sequence of N titles, got int 3"),
    (lambda net: viz.show_images(np.zeros((4, 8, 8)), ncols=0), ValueError,
     r"show_images: ncols must be >= 1, got 0"),
])
def test_plotting_the_wrong_thing_is_named_not_an_empty_figure(net, call, error, message):
    with pytest.raises(error, match=message):
        call(net)
