"""The quick-start notebook is committed clean and runs from top to bottom in under 2 minutes."""

import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "notebooks" / "quickstart.ipynb"


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert len(code) >= 8
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert nb.metadata.kernelspec.name == "python3"


def test_notebook_runs_in_this_environment():
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # First, ask the kernel which Python it is: it must be this interpreter's environment
    # (jupyter_client starts the 'python3' kernel with sys.executable).
    probe = nbformat.v4.new_code_cell("import sys; print(sys.prefix)")
    nb.cells.insert(0, probe)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(ROOT)}})
    start = time.perf_counter()
    client.execute()
    assert time.perf_counter() - start < 120
    assert probe.outputs[0]["text"].strip() == sys.prefix
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out["output_type"] == "error"]
    text = "".join(out.get("text", "") for out in outputs)
    assert "Total params: 61,706" in text
    assert "receptive field 16 x 16" in text
    accuracy = float(text.split("test accuracy ")[1].split("%")[0])
    assert accuracy > 50
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) == 6  # digits, history, kernels, one digit, two sets of feature maps
