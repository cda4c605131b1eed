"""PCA of a set of vectors onto at most two components, in numpy."""

import numpy as np


def pca(vectors):
    """Project `vectors` onto their first two principal components, or fewer.

    The vectors are centred; the components come from an SVD, with each
    component's sign fixed so its largest-magnitude loading is positive (so
    the same data always gives the same picture).

    A component whose singular value is at float noise level is left out:
    at most `eps * max(n, dim) * ‖vectors‖` (Frobenius norm of the vectors
    before centring, `eps` of their float type, as `numpy.linalg.matrix_rank`
    decides a rank). So two distinct vectors give one column (they span a
    line: a second axis would be rounding noise), and vectors that are all
    equal up to rounding give none.

    Args:
        vectors: `(n, dim)` array, n >= 2.

    Returns:
        `(coordinates (n, k) float64, explained (k,))`, k in {0, 1, 2} the
        number of components kept; `explained` is the fraction of the total
        variance along each.

    Raises:
        ValueError: with fewer than two vectors.
    """
    given = np.asarray(vectors)
    x = given.astype(np.float64)  # (n, dim)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"PCA needs at least two vectors; got shape {x.shape}.")
    eps = np.finfo(given.dtype if np.issubdtype(given.dtype, np.floating) else np.float64).eps
    tolerance = eps * max(x.shape) * np.linalg.norm(x)
    centred = x - x.mean(axis=0)  # (n, dim)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)  # (r,), (r, dim)
    kept = int(min(2, np.count_nonzero(singular > tolerance)))
    components = components[:kept]  # (k, dim)
    signs = np.sign(components[np.arange(kept), np.abs(components).argmax(axis=1)])  # (k,)
    components = components * np.where(signs == 0, 1.0, signs)[:, None]
    explained = singular[:kept] ** 2 / float((singular**2).sum()) if kept else np.zeros(0)
    return centred @ components.T, explained
