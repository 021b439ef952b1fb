"""Timing statistics, the same definitions as src/bench/stats.ts (linear-interpolated quantiles)."""


def quantile(xs, q):
    s = sorted(xs)
    pos = (len(s) - 1) * q
    lo, hi = int(pos // 1), int(-(-pos // 1))
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summarize(samples_ms, first_call_ms=None, compiled=False, clock="cuda_events"):
    med = quantile(samples_ms, 0.5)
    return {
        "medianMs": med,
        "p20Ms": quantile(samples_ms, 0.2),
        "p80Ms": quantile(samples_ms, 0.8),
        "samples": len(samples_ms),
        # Compile/autotune time: the first call's wall time beyond a steady call (compiled kernels).
        "compileMs": max(0.0, first_call_ms - med) if (compiled and first_call_ms is not None) else None,
        "firstCallMs": first_call_ms,
        "clock": clock,
    }


from .tables import GRADIENTS  # noqa: E402 - shared with TypeScript


def exceeds_tolerance(tol, errors):
    """The check of every suite (src/util/tolerance.ts exceedsTolerance): out and lse within tol; a
    gradient within tol x max(1, its reference's largest |value|). `errors`: name -> {"maxAbs",
    "refMaxAbs"?}; other entries are ignored."""
    for name, e in errors.items():
        if not isinstance(e, dict) or "maxAbs" not in e:
            continue
        bound = tol * max(1.0, e.get("refMaxAbs") or 0.0) if name in GRADIENTS else tol
        if not e["maxAbs"] <= bound:
            return True
    return False


def finite(x):
    """JSON has no NaN/inf: a non-finite error becomes the largest float (and exceeds any tolerance)."""
    return x if x == x and x not in (float("inf"), float("-inf")) else 1.7976931348623157e308
