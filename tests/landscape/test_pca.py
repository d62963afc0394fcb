"""Principal directions of a trajectory: exact and randomised against an SVD."""

from __future__ import annotations

import numpy as np
import pytest

from gradscape.landscape import pca, principal_directions
from tests.landscape.conftest import assert_same_lines, svd_directions


@pytest.mark.parametrize(("T", "P"), [(60, 8), (8, 60), (1, 5)])
def test_pca_matches_an_svd_of_the_centred_matrix(T: int, P: int) -> None:
    rng = np.random.default_rng(T + P)
    M = rng.normal(size=(T, P)) * np.geomspace(10, 0.1, P)
    V, share = principal_directions(M, 2, method="exact")
    ref, ref_share = svd_directions(M)
    if T == 1:  # one row: a single direction; the second is any unit vector orthogonal to it
        assert_same_lines(V[:1], ref[:1], 1e-12)
        assert share[1] == 0.0 and abs(V[0] @ V[1]) < 1e-12
        np.testing.assert_allclose(np.linalg.norm(V, axis=1), 1.0)
        return
    assert_same_lines(V, ref, 1e-10)
    np.testing.assert_allclose(share, ref_share, rtol=1e-10)


def test_randomized_pca_matches_the_svd_when_both_sides_are_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(1)
    # A low-rank path plus small noise, as training trajectories are.
    M = rng.normal(size=(150, 6)) @ (rng.normal(size=(6, 220)) * np.geomspace(5, 0.5, 6)[:, None])
    M += 1e-3 * rng.normal(size=M.shape)
    monkeypatch.setattr(pca, "EXACT_MAX_DIM", 100)  # so auto picks the randomised method
    monkeypatch.setattr(pca, "_exact", None)
    V, share = principal_directions(M, 2)
    ref, ref_share = svd_directions(M)
    assert_same_lines(V, ref, 1e-9)
    np.testing.assert_allclose(share, ref_share, rtol=1e-9)


def test_signs_follow_the_far_end_of_the_path() -> None:
    M = np.outer(np.linspace(2.0, 0.0, 9), [0.0, -3.0, 4.0])  # moves straight to the centre
    V, _ = principal_directions(M, 1)
    assert (M[0] @ V[0]) > 0
    V_flipped, _ = principal_directions(-M, 1)
    np.testing.assert_allclose(V_flipped, -V)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="never leaves"):
        principal_directions(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="not finite"):
        principal_directions(np.array([[np.inf, 0.0]]))
    with pytest.raises(ValueError, match="method"):
        principal_directions(np.ones((3, 4)), method="power")


def test_the_error_messages_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"^pca: the trajectory is not finite$"):
        principal_directions(np.array([[np.nan, 1.0]]))
    with pytest.raises(
        ValueError, match=r"^pca: the trajectory never leaves the centre; take a few steps first$"
    ):
        principal_directions(np.zeros((2, 3)))


def test_a_straight_path_gets_the_axis_it_uses_least_as_its_second_direction() -> None:
    # Rank 1 along (3, -4, 0) / 5: the second direction has share 0 and is the z axis, the
    # axis the first direction does not touch (by hand: its squares are 0.36, 0.64, 0).
    M = np.outer([1.0, 2.0], [3.0, -4.0, 0.0])
    V, share = principal_directions(M)  # the default k is 2
    np.testing.assert_allclose(V, [[0.6, -0.8, 0.0], [0.0, 0.0, 1.0]], atol=1e-15)
    np.testing.assert_array_equal(share, [1.0, 0.0])


def test_the_sign_follows_the_third_moment_not_the_mean() -> None:
    # Coordinates 1, 1, 1, -2 along d: mean +1/4 but cube sum 3 - 8 = -5, so the direction
    # is -d and the far end (the -2 row) lands on the positive side.
    d = np.array([0.6, 0.8])
    M = np.outer([1.0, 1.0, 1.0, -2.0], d)
    V, _ = principal_directions(M, 1)
    np.testing.assert_allclose(V[0], -d, atol=1e-15)
    assert M[3] @ V[0] > 0


def test_a_tiny_second_direction_keeps_its_share_whatever_the_scale() -> None:
    # Singular values 1e-3 and 1e-13: the second share is 1e-26 / 1e-6 = 1e-20, far above
    # RANK_TOL, so it is shown (not replaced by a filler with share 0).
    M = np.array([[1e-3, 0.0, 0.0], [0.0, 1e-13, 0.0]])
    V, share = principal_directions(M)
    np.testing.assert_allclose(share, [1.0, 1e-20], rtol=1e-12)
    np.testing.assert_allclose(V, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], atol=1e-15)


def test_shares_never_sum_past_one() -> None:
    # P = 2 and rank 2: the shares are 1 in exact arithmetic; rounding pushes some past it.
    for seed in range(40):
        M = np.random.default_rng(seed).normal(size=(30, 2))
        _, share = principal_directions(M)
        assert share.sum() <= 1.0
        assert share.sum() == pytest.approx(1.0, abs=1e-14)


def test_float32_input_is_computed_in_float64() -> None:
    M = np.random.default_rng(3).normal(size=(40, 6)).astype(np.float32)
    V, share = principal_directions(M, method="exact")  # type: ignore[arg-type]
    assert V.dtype == np.float64 and share.dtype == np.float64
    ref, ref_share = svd_directions(M.astype(np.float64))
    assert_same_lines(V, ref, 1e-12)
    np.testing.assert_allclose(share, ref_share, rtol=1e-12)


def test_auto_is_exact_up_to_and_including_exact_max_dim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pca, "EXACT_MAX_DIM", 8)
    monkeypatch.setattr(pca, "_randomized", None)  # auto must not reach for it at min(T, P) = 8
    M = np.random.default_rng(5).normal(size=(20, 8)) * np.geomspace(4, 0.5, 8)
    V, share = principal_directions(M)
    ref, ref_share = svd_directions(M)
    assert_same_lines(V, ref, 1e-12)
    np.testing.assert_allclose(share, ref_share, rtol=1e-12)


def test_randomized_is_reproducible_and_seeded_with_zero_by_default() -> None:
    rng = np.random.default_rng(1)
    M = rng.normal(size=(150, 6)) @ (rng.normal(size=(6, 220)) * np.geomspace(5, 0.5, 6)[:, None])
    first = principal_directions(M, method="randomized")
    again = principal_directions(M, method="randomized", seed=0)
    other = principal_directions(M, method="randomized", seed=1)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)  # bit for bit: a refit shows the same picture
    # Another sketch agrees to rounding only, so the seed is really what is passed on.
    assert not np.array_equal(first[0], other[0])
    np.testing.assert_allclose(first[0], other[0], atol=1e-12)


@pytest.mark.parametrize(("T", "P"), [(3, 3), (5, 5), (8, 4), (2, 6), (3, 6), (9, 40), (30, 500)])
def test_a_straight_path_gets_orthonormal_directions(T: int, P: int) -> None:
    # Rank 1: the second direction carries nothing, but the plane still needs V V^T = I.
    # T >= P takes M^T M. T < P (a short run's usual shape) takes M M^T, whose second
    # eigenvalue is rounding noise (~1e-16 of the whole, above RANK_TOL), and M^T u_2 is
    # then mostly u_1's direction: the second direction came out nearly parallel to the
    # first (|V0 . V1| ~0.99 in 166 of 200 such paths) and the plane had no second axis.
    for seed in range(20):
        rng = np.random.default_rng(seed)
        M = np.outer(rng.normal(size=T), rng.normal(size=P))
        V, share = principal_directions(M)
        np.testing.assert_allclose(V @ V.T, np.eye(2), atol=1e-10)
        ref, _ = svd_directions(M)
        assert_same_lines(V[:1], ref[:1], 1e-10)
        assert share[0] == pytest.approx(1.0, abs=1e-12) and share[1] < 1e-12
