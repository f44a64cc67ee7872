"""Doctests that draw figures need matplotlib (``pip install -e ".[plot]"``); skip them without it.

The test suite itself skips its plotting tests with ``pytest.importorskip``; docstrings
and tutorial pages cannot, so they are listed here.
"""

import importlib.util

import pytest

NEEDS_MATPLOTLIB = ("convnp/viz.py", "docs/03_edge_detectors.md")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if importlib.util.find_spec("matplotlib") is not None:
        return
    skip = pytest.mark.skip(reason='needs matplotlib: pip install -e ".[plot]"')
    for item in items:
        if item.path.relative_to(config.rootpath).as_posix() in NEEDS_MATPLOTLIB:
            item.add_marker(skip)
