import dp_accounting
import pytest

from tfpose_dp.privacy import accounting


@pytest.mark.parametrize(
    "eps,n,b,epochs",
    [
        pytest.param(0.2, 22246, 32, 2, marks=pytest.mark.slow),  # a fine PLD grid: ~30 s
        (1.0, 3000, 64, 3),
        (8.0, 4000, 128, 4),
    ],
)
def test_calibrated_sigma_reproduces_target_with_dp_accounting(eps, n, b, epochs):
    q, steps, delta = b / n, round(epochs * n / b), accounting.default_delta(n)
    sigma = accounting.calibrate_noise_multiplier(q, steps, eps, delta)
    acc = dp_accounting.pld.PLDAccountant(value_discretization_interval=1e-5 if eps < 1 else 1e-4)
    acc.compose(accounting.step_event(q, sigma), steps)
    spent = acc.get_epsilon(delta)
    assert spent <= eps * 1.0001
    assert spent >= eps * 0.99, "calibration should not waste more than 1% of the budget"


def test_rdp_accountant_is_available_and_reports_a_bound():
    eps = accounting.epsilon_spent([(0.01, 1.0, 1000)], 1e-5, "rdp")
    assert 0 < eps < 10


def test_delta_at_or_above_one_over_n_is_refused():
    with pytest.raises(accounting.PrivacyConfigError, match="1/N"):
        accounting.check_delta(1e-3, 1000)
    accounting.check_delta(1e-4, 1000)


def test_unreachable_target_is_a_clear_error():
    with pytest.raises(accounting.PrivacyConfigError, match="out of reach"):
        accounting.calibrate_noise_multiplier(1.0, 100000, 1e-4, 1e-6)


def test_ledger_composes_segments_and_survives_json():
    ledger = accounting.PrivacyLedger(delta=1e-5)
    for _ in range(30):
        ledger.record_steps(0.01, 1.1)
    restored = accounting.PrivacyLedger.from_json(ledger.to_json())
    restored.record_steps(0.01, 1.1, 70)
    assert restored.steps == 100
    assert restored.epsilon() == pytest.approx(accounting.epsilon_spent([(0.01, 1.1, 100)], 1e-5))
