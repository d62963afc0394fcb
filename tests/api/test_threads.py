"""Process settings the app applies while it runs: BLAS threads per matrix product."""

from __future__ import annotations

from threadpoolctl import threadpool_info

from tests.api.conftest import make_client


def _blas_threads() -> set[int]:
    return {int(p["num_threads"]) for p in threadpool_info() if p["user_api"] == "blas"}


def test_blas_runs_one_thread_per_product_while_serving_then_is_restored() -> None:
    before = _blas_threads()
    with make_client() as c:
        assert _blas_threads() == {1}  # the default: sessions run side by side instead
        assert c.get("/api/catalog").json()["limits"]["blas_threads"] == 1
    assert _blas_threads() == before
    with make_client(blas_threads=2):
        assert _blas_threads() == {2}
