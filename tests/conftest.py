"""Shared fixtures: paths of the shipped model files and named tolerances."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"

# Named tolerances (see docs/decisions/0002-tolerances.md).
IDENTITY_RTOL = 1e-10  # algebraic identities of dense float64 kernels on small matrices
CLOSED_FORM_RTOL = 1e-8  # closed forms of docs/theory.md section 7


@pytest.fixture
def models_dir() -> Path:
    return MODELS


@pytest.fixture(scope="module")
def q1():
    """Model Q1 of docs/theory.md section 7 (``models/qubit_pump.toml``)."""
    from thermogeo import load_model

    return load_model(MODELS / "qubit_pump.toml")


@pytest.fixture(scope="module")
def circle():
    """The circle of docs/theory.md section 7 in the (Bx, Bz) plane."""
    from thermogeo.protocols.paths import Circle

    return Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261128)


def pytest_configure(config):
    """One BLAS thread: the kernels work on many small matrices, where threading costs more
    than it gains, and the suite must not oversubscribe CI's two cores (sweep tests start
    worker processes of their own)."""
    threadpool_limits(limits=1)
