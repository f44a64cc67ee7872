"""Shared pytest configuration: hypothesis profiles and a seeded random generator.

``CI`` set in the environment selects the derandomised ``ci`` profile, so every CI run
draws the same examples; otherwise the ``dev`` profile draws fresh ones each run.
"""

import os

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=25,
                          print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=25)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator with a fixed seed: the one source of randomness in a test."""
    return np.random.default_rng(20240601)
