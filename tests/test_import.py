"""``import convnp`` reaches every public subpackage, quickly, without optional dependencies."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json, sys, time
start = time.perf_counter()
import convnp
seconds = time.perf_counter() - start
names = ["optim.SGD", "models.lenet5", "data.DataLoader", "train.Trainer",
         "checkpoint.save_checkpoint", "naive.conv2d_forward_naive", "functional.im2col",
         "layers.Conv2d", "losses.CrossEntropyLoss", "init", "interop.to_torch",
         "kernels.SOBEL_X", "viz.show_images"]
missing = []
for name in names:
    obj = convnp
    try:
        for part in name.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        missing.append(name)
optional = [m for m in ("matplotlib", "torch", "tqdm") if m in sys.modules]
print(json.dumps({"seconds": seconds, "missing": missing, "optional": optional}))
"""


def probe() -> dict:
    """Import convnp in a fresh interpreter (nothing imported before) and report."""
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def test_import_convnp_reaches_every_subpackage_without_optional_dependencies():
    result = probe()
    assert result["missing"] == []
    assert result["optional"] == []


def test_import_takes_under_a_second():
    assert min(probe()["seconds"] for _ in range(3)) < 1.0
