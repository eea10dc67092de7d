"""lib.core.scaling_laws: power-law, envelope, parabola and parametric fits recover known synthetic laws."""
import numpy as np
import pytest

from lib.core import scaling_laws as sl


def test_power_law_recovers_exponent_and_constant():
    rng = np.random.default_rng(0)
    x = np.logspace(15, 21, 30)
    y = 0.2 * x ** 0.42 * np.exp(rng.normal(0, 0.01, x.size))
    for loss in ("huber", "lsq"):
        fit = sl.fit_power_law(x, y, loss=loss)
        assert fit.exponent == pytest.approx(0.42, abs=2e-3)
        assert fit.k == pytest.approx(0.2, rel=0.1)
        assert fit.r2 > 0.999
        assert fit.inverse(fit(1e18)) == pytest.approx(1e18, rel=1e-9)


def test_power_law_with_fixed_exponent():
    x = np.logspace(17, 20, 10)
    fit = sl.fit_power_law(x, 0.08 * x ** 0.5, exponent=0.5, select="mse")
    assert fit.exponent == 0.5
    assert fit.log_k == pytest.approx(np.log(0.08), abs=1e-3)


def test_power_law_rejects_bad_input():
    with pytest.raises(ValueError):
        sl.fit_power_law([1, 2, 3], [1, -2, 3])
    with pytest.raises(ValueError):
        sl.fit_power_law([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        sl.fit_power_law([2, 2, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        sl.fit_power_law([1, 2, 3], [1, 2, 3], loss="l2")
    with pytest.raises(ValueError):
        sl.fit_power_law([1, 2, 3], [1, 2, 3], select="best")


def test_isoflop_envelope_keeps_running_minimum():
    flops = np.array([3.0, 1.0, 2.0, 4.0, 5.0])
    loss = np.array([0.5, 1.0, 0.8, 0.6, 0.4])
    assert list(sl.isoflop_envelope(flops, loss)) == [1, 2, 0, 4]
    with pytest.raises(ValueError):
        sl.isoflop_envelope([1.0, 2.0], [1.0])


def test_parabola_minimum_in_log_x():
    x = np.array([256, 512, 1024, 2048, 4096, 8192])
    loss = 2.0 + 0.3 * (np.log(x) - np.log(1500.0)) ** 2
    p = sl.parabola_minimum(x, loss)
    assert p.x_min == pytest.approx(1500.0, rel=1e-6)
    assert p.loss_min == pytest.approx(2.0, abs=1e-9)
    assert sl.parabola_minimum(x, -loss).x_min is None
    with pytest.raises(ValueError):
        sl.parabola_minimum([1, 2], [1, 2])


def test_fit_parametric_recovers_chinchilla_like_law():
    rng = np.random.default_rng(1)
    n = rng.uniform(1, 100, 200)
    d = rng.uniform(1, 100, 200)
    true = np.array([np.log(2.0), np.log(3.0), 0.5, 0.3])   # loss = 1 + A/n^a + B/d^b

    def predict(p, n=n, d=d):
        return 1 + np.exp(p[0] - p[2] * np.log(n)) + np.exp(p[1] - p[3] * np.log(d))
    y = predict(true)
    fit = sl.fit_parametric(predict, y, [[0, 0, 0.2, 0.2], [1, 1, 0.8, 0.8]])
    assert fit.r2 > 0.9999
    np.testing.assert_allclose(fit.params, true, atol=1e-2)
    with pytest.raises(RuntimeError):
        sl.fit_parametric(predict, y, [[0, 0, 0.2, 0.2]], accept=lambda p: False)
    with pytest.raises(ValueError):
        sl.fit_parametric(predict, y, [])
    with pytest.raises(ValueError):
        sl.fit_parametric(predict, y, [[0, 0, 0.2, 0.2]], select="r2")


def test_fit_parametric_mse_selection_in_a_flat_huber_valley():
    # a constant fitted to (0, 0, 1, 1) with Huber(δ→0) ≈ L1: every c in [0, 1] is optimal, so
    # L-BFGS-B stays where it starts; the official "relative MSE" rule keeps the start nearest the mean
    y = np.array([0.0, 0.0, 1.0, 1.0])
    def predict(p):
        return np.full(4, p[0])
    starts = [[0.3], [0.6], [0.1]]
    by_objective = sl.fit_parametric(predict, y, starts, delta=1e-6)
    by_mse = sl.fit_parametric(predict, y, starts, delta=1e-6, select="mse")
    assert by_objective.objective == pytest.approx(by_mse.objective, rel=1e-6)   # same Huber value
    assert by_mse.params[0] == pytest.approx(0.6)
    assert by_mse.mse == pytest.approx(0.26)
    assert by_mse.mse == min(float(np.mean((predict(p) - y) ** 2)) for p, _ in by_mse.candidates)


def test_refined_argmin():
    x = np.array([320, 640, 1280, 2560, 5120])
    loss = 2.0 + (np.log(x) - np.log(1800.0)) ** 2
    assert sl.refined_argmin(x, loss) == pytest.approx(1800.0, rel=1e-6)
    assert sl.refined_min(x, loss) == pytest.approx((1800.0, 2.0), rel=1e-6)
    assert sl.refined_argmin(x, np.log(x)) == 320.0          # minimum at the edge
    with pytest.raises(ValueError):
        sl.refined_argmin([], [])
