"""Exact static thermal response dJ_beta/dT_alpha against test-only finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import thermogeo as tg
from thermogeo.response.thermal import conductance, thermal_response

FD_STEP = 1e-5  # central differences in T: truncation ~ step^2, round-off ~ eps / step
FD_RTOL = 1e-7


@pytest.mark.parametrize("temps", [(1.0, 1.0), (1.5, 0.8)])
def test_thermal_response_matches_central_differences(models_dir, temps):
    m = tg.load_model(models_dir / "heisenberg_dimer.toml").with_values(
        **{"L.temperature": temps[0], "R.temperature": temps[1]})
    lam = np.array([[0.3, 0.5], [1.2, -0.7], [-2.0, 0.4]])
    K = thermal_response(m, lam)
    for a, name in enumerate(m.bath_names):
        T = m.temperatures[a]
        up = tg.response(m.with_values(**{f"{name}.temperature": T + FD_STEP}), lam)
        dn = tg.response(m.with_values(**{f"{name}.temperature": T - FD_STEP}), lam)
        fd = (up.heat_current - dn.heat_current) / (2 * FD_STEP)
        np.testing.assert_allclose(K[..., a], fd, rtol=FD_RTOL, atol=FD_RTOL * np.abs(fd).max())


def test_energy_conservation_and_positive_conductance(models_dir):
    m = tg.load_model(models_dir / "qubit_pump.toml")
    lam = np.random.default_rng(3).normal(size=(20, 2))
    K = thermal_response(m, lam)
    # sum_beta J_beta = 0 in every steady state, so sum_beta dJ_beta/dT_alpha = 0
    assert np.abs(K.sum(axis=-2)).max() < 1e-12 * np.abs(K).max()
    # second law: heat flows from the hotter bath into the system
    assert np.all(conductance(m, lam, hot=0) > 0) and np.all(conductance(m, lam, hot=1) > 0)


def test_rate_temperature_derivative():
    sd = tg.Ohmic(0.3, exponent=1.0)
    w = np.array([-3.0, -0.2, 0.0, 0.2, 3.0])
    T, h = 0.7, 1e-6
    fd = (sd.rate(w, T + h) - sd.rate(w, T - h)) / (2 * h)
    np.testing.assert_allclose(sd.rate_temperature_derivative(w, T), fd, rtol=1e-7)
