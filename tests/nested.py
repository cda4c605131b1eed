"""Equality of nested results (JSON-like dicts and lists) with float tolerance."""

import pytest


def close(a, b, rel, abs_):
    """True when `a` and `b` have the same structure, keys and non-float values,
    and every float of `a` is within `rel` (relative) or `abs_` of `b`'s."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], rel, abs_) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y, rel, abs_) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=rel, abs=abs_)
    return a == b
