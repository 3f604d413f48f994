"""The Dirac-GAN: each update rule and regularizer does what the Jacobian at the equilibrium
predicts (Mescheder et al. 2018; Gidel et al. 2019; Daskalakis et al. 2018)."""

import numpy as np
import pytest

from ttur_tf.toy.dirac import (
    DiracGame, equilibrium_is_stationary, run_dirac, spectral_radius, update_jacobian,
)

H = (0.1, 0.1)


def distances(path):
    return np.hypot(path[:, 0], path[:, 1])


def assert_behaves_as_predicted(game, rule, steps=H, iterations=3000):
    """ρ < 1: the iterates converge to (0, 0); ρ > 1: they move away; ρ = 1: neither."""
    radius = spectral_radius(update_jacobian(game, rule, steps))
    distance = distances(run_dirac(game, rule, steps, start=(0.3, 0.3), iterations=iterations))
    if radius < 1 - 1e-6:
        assert distance[-1] < 1e-2 * distance[0]
    elif radius > 1 + 1e-6:
        assert np.nanmax(distance) > 2 * distance[0]
    else:
        assert 0.3 * distance[0] < distance[-1] < 3 * distance[0]
    return radius


def test_the_field_is_the_one_of_the_paper():
    # v(θ, ψ) = (−f'(ψθ)ψ, f'(ψθ)θ), f'(t) = σ(−t) for the GAN loss: at (1, 2), σ(−2) = 0.1192.
    slope = 1 / (1 + np.exp(2.0))
    np.testing.assert_allclose(DiracGame("gan").field(1.0, 2.0), [-2 * slope, slope])
    np.testing.assert_allclose(DiracGame("wgan").field(1.0, 2.0), [-2.0, 1.0])


@pytest.mark.parametrize("loss", ["gan", "wgan"])
def test_unregularized_simultaneous_gradient_descent_spirals_out(loss):
    radius = assert_behaves_as_predicted(DiracGame(loss), "simultaneous")
    fp0 = 0.5 if loss == "gan" else 1.0
    assert radius == pytest.approx(np.sqrt(1 + (H[0] * fp0) ** 2), rel=1e-6)  # |1 ± i·h·f'(0)|


def test_unregularized_alternating_gradient_descent_circles():
    radius = assert_behaves_as_predicted(DiracGame("wgan"), "alternating")
    assert radius == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("regularizer", ["r1", "r2"])
@pytest.mark.parametrize("rule", ["simultaneous", "alternating"])
def test_zero_centred_gradient_penalties_converge_with_a_small_step(regularizer, rule):
    radius = assert_behaves_as_predicted(DiracGame("gan", regularizer, gamma=1.0), rule)
    assert radius < 1


def test_a_too_large_step_makes_r1_diverge_as_the_jacobian_says():
    game = DiracGame("gan", "r1", gamma=1.0)
    assert assert_behaves_as_predicted(game, "simultaneous", steps=(5.0, 5.0)) > 1


def test_instance_noise_converges():
    assert assert_behaves_as_predicted(DiracGame("gan", "instance_noise", noise=1.0),
                                       "simultaneous", iterations=6000) < 1


@pytest.mark.parametrize("rule", ["extragradient", "optimistic"])
def test_extragradient_and_optimistic_converge_on_the_bilinear_game(rule):
    # The WGAN Dirac-GAN is the bilinear game θ·ψ, where simultaneous descent diverges.
    radius = assert_behaves_as_predicted(DiracGame("wgan"), rule, iterations=5000)
    assert radius < 1


def test_two_time_scales_change_the_prediction_and_the_outcome_with_it():
    game = DiracGame("gan", "r1", gamma=1.0)
    one = spectral_radius(update_jacobian(game, "simultaneous", (0.1, 0.1)))
    two = spectral_radius(update_jacobian(game, "simultaneous", (0.01, 0.1)))
    assert one != pytest.approx(two)
    assert_behaves_as_predicted(game, "simultaneous", (0.01, 0.1), iterations=20000)


def test_the_wgan_gp_penalty_leaves_no_fixed_point_at_the_equilibrium_and_does_not_converge():
    game = DiracGame("gan", "gp", gamma=1.0)
    assert not equilibrium_is_stationary(game)
    assert all(equilibrium_is_stationary(DiracGame("gan", regularizer)) for regularizer in
               ("none", "r1", "r2", "instance_noise"))
    distance = distances(run_dirac(game, "simultaneous", H, start=(0.3, 0.3), iterations=3000))
    assert distance[-1] > 0.1


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="regularizer one of"):
        DiracGame("gan", "dropout")
    with pytest.raises(ValueError, match="rule must be one of"):
        run_dirac(DiracGame(), "adam", H)
    with pytest.raises(ValueError, match="two positive step sizes"):
        run_dirac(DiracGame(), "simultaneous", (0.1, 0.0))


def test_the_script_writes_trajectories_and_a_table_that_agrees_with_the_outcomes(tmp_path):
    from conftest import run_script_in_process

    code, out, err = run_script_in_process(
        "toy_dirac.py", f"--out_dir={tmp_path}", "--iterations=2000",
        "--methods=gan/simultaneous/none,gan/alternating/r1,wgan/extragradient/none")
    assert code == 0, err
    table = {line.split()[0]: line.split()[2:] for line in out.splitlines() if "/" in line.split()[0]}
    assert table["gan/simultaneous/none"][0] == "diverges" and float(table["gan/simultaneous/none"][1]) > 1.4
    assert table["gan/alternating/r1"][0] == "converges" and float(table["gan/alternating/r1"][1]) < 1e-2
    assert table["wgan/extragradient/none"][0] == "converges"
    lines = (tmp_path / "dirac_trajectories.csv").read_text().splitlines()
    assert lines[0] == "method,iteration,theta,psi,distance" and len(lines) == 1 + 3 * 2001


def test_the_script_refuses_an_unknown_method(tmp_path):
    from conftest import run_script_in_process

    code, _, err = run_script_in_process("toy_dirac.py", f"--out_dir={tmp_path}", "--methods=gan/sgd/none")
    assert code == 1 and "LOSS/RULE/REGULARIZER" in err
