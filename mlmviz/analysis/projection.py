"""Two-dimensional PCA of a set of vectors, in numpy."""

import numpy as np


def pca_2d(vectors):
    """Project `vectors` onto their first two principal components.

    The vectors are centred; the components come from an SVD, with each
    component's sign fixed so its largest-magnitude loading is positive (so
    the same data always gives the same picture).

    Args:
        vectors: `(n, dim)` array, n >= 2.

    Returns:
        `(coordinates (n, 2) float64, explained (2,))`, where `explained` is
        the fraction of the total variance along each component (0 when the
        vectors are all equal, or when there is no second direction).

    Raises:
        ValueError: with fewer than two vectors.
    """
    x = np.asarray(vectors, dtype=np.float64)  # (n, dim)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"PCA needs at least two vectors; got shape {x.shape}.")
    centred = x - x.mean(axis=0)  # (n, dim)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)  # (r,), (r, dim)
    components = np.pad(components[:2], ((0, 2 - len(components[:2])), (0, 0)))  # (2, dim)
    signs = np.sign(components[np.arange(2), np.abs(components).argmax(axis=1)])
    components *= np.where(signs == 0, 1.0, signs)[:, None]
    total = float((singular**2).sum())
    variance = np.pad(singular[:2] ** 2, (0, 2 - len(singular[:2])))  # (2,)
    explained = variance / total if total > 0 else np.zeros(2)
    return centred @ components.T, explained
