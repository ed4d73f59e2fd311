"""The periods of a convergence study (issue 14 item 7, docs/decisions/0323-convergence-
periods.md): the asymptotic regime of each order is where the error is accounted for by its
leading term, and without periods ``convergence`` chooses them from the relaxation time."""

from __future__ import annotations

import numpy as np
import pytest

from thermogeo.dynamics import Spectral, convergence
from thermogeo.dynamics.convergence import (ASYMPTOTIC_RATIO, FLOOR_FACTOR, MIN_FIT_PERIODS,
                                            SETTLED_RATIO, asymptotic_mask, relaxation_time)

SLOPE_TOL = 0.1  # slopes fitted where the next term is at most a few per cent of the error


def test_asymptotic_regimes_of_a_known_series():
    """err1 = q2/tau + q3/tau^2 + q4/tau^3 and err2 = err1 - q2/tau: order 1 where |err2| <=
    ASYMPTOTIC_RATIO |err1|, order 2 where err2 tau^2 = q3 + q4/tau changes by at most
    SETTLED_RATIO between successive periods; nothing below the noise floor."""
    tau = 10.0 * 2.0 ** np.arange(12)
    q2, q3, q4 = -3.0, 40.0, -900.0
    e2 = q3 / tau**2 + q4 / tau**3
    e1 = q2 / tau + e2
    est = np.full_like(tau, 1e-30)
    est[-1] = abs(e2[-1])  # the longest period sits at the noise floor
    one, two = asymptotic_mask(tau, e1[:, None], e2[:, None], est)
    c = q3 + q4 / tau
    above = np.abs(e2) > FLOOR_FACTOR * est
    settled = np.abs(c[:-1] - c[1:]) <= SETTLED_RATIO * np.abs(c[1:])
    expect2 = np.zeros(len(tau), bool)
    expect2[:-1] |= settled & above[:-1] & above[1:]
    expect2[1:] |= settled & above[:-1] & above[1:]
    np.testing.assert_array_equal(one[:, 0], (np.abs(e2) <= ASYMPTOTIC_RATIO * np.abs(e1))
                                  & above)
    np.testing.assert_array_equal(two[:, 0], expect2)
    assert one[:, 0].sum() >= 3 and two[:, 0].sum() >= 3 and not one[-1, 0]
    # fits over these periods recover the orders of the series
    for mask, err, p in ((one[:, 0], e1, -1), (two[:, 0], e2, -2)):
        slope = np.polyfit(np.log(tau[mask]), np.log(np.abs(err[mask])), 1)[0]
        assert slope == pytest.approx(p, abs=SLOPE_TOL)


def test_convergence_chooses_its_periods(q1, circle):
    """Q1 on the circle: the periods double from slow_factor relaxation times and stop once
    both baths have MIN_FIT_PERIODS periods in the regime of order 2; the slopes are -1, -2."""
    method = Spectral(rtol=1e-11)
    c = convergence(q1, circle, method=method)
    t_rel = relaxation_time(q1, circle, method)
    np.testing.assert_allclose(c.periods, method.slow_factor * t_rel * 2.0 ** np.arange(
        len(c.periods)), rtol=1e-12)
    assert c.relaxation_time == pytest.approx(t_rel, rel=1e-12)
    assert np.all(c.asymptotic2.sum(axis=0) >= MIN_FIT_PERIODS)
    assert not np.all(c.asymptotic2[:-1].sum(axis=0) >= MIN_FIT_PERIODS)  # stopped at once
    np.testing.assert_allclose(c.slope_order1, -1.0, atol=SLOPE_TOL)
    np.testing.assert_allclose(c.slope_order2, -2.0, atol=SLOPE_TOL)
    ds = c.to_dataset()
    assert ds.error_order1.attrs["error_kind"] == "absolute" == ds.attrs["error_kind"]
    np.testing.assert_array_equal(ds.asymptotic.values, c.asymptotic)
