"""Loss landscapes on top of the core: planes, fast surfaces, honest paths, curvature.

NumPy only. Inputs are plain: a ``Model``, data ``X, y`` (None for the analytic
surfaces) and a trajectory ``(T, P)`` of parameter vectors ``theta_0 .. theta_T``.

    plane = make_plane("pca", model, X, y, trajectory)          # or axes, random, hessian
    surf = surface(model, X, y, plane, resolution=61, path=trajectory)
    surf.z            # (G, G), z[row = y][col = x], NaN where the loss is not finite
    surf.path.off_plane_distance                                # how far the path leaves it
    stability(lr, lambda_max(model, X, y, trajectory[-1]))      # lr * lambda_max against 2
"""

from gradscape.landscape.curvature import (
    Eigenpairs,
    Sharpness,
    Stability,
    dense_hessian,
    hvp,
    lambda_max,
    sharpness_series,
    stability,
    top_eigenpairs,
)
from gradscape.landscape.directions import (
    MODES,
    Plane,
    axes_plane,
    center_at_step,
    filter_normalize,
    hessian_plane,
    make_plane,
    pca_plane,
    plain_random_plane,
    random_plane,
    resolve_center,
)
from gradscape.landscape.pca import principal_directions
from gradscape.landscape.surface import (
    DEFAULT_RESOLUTION,
    MAX_RESOLUTION,
    Extent,
    PathProjection,
    Slice,
    Surface,
    auto_extent,
    interpolate,
    project_path,
    slice_along,
    surface,
)

__all__ = [
    "DEFAULT_RESOLUTION",
    "MAX_RESOLUTION",
    "MODES",
    "Eigenpairs",
    "Extent",
    "PathProjection",
    "Plane",
    "Sharpness",
    "Slice",
    "Stability",
    "Surface",
    "auto_extent",
    "axes_plane",
    "center_at_step",
    "dense_hessian",
    "filter_normalize",
    "hessian_plane",
    "hvp",
    "interpolate",
    "lambda_max",
    "make_plane",
    "pca_plane",
    "plain_random_plane",
    "principal_directions",
    "project_path",
    "random_plane",
    "resolve_center",
    "sharpness_series",
    "slice_along",
    "stability",
    "surface",
    "top_eigenpairs",
]
