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
