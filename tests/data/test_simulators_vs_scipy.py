"""Every simulator against SciPy (DOP853, rtol 1e-10) with right-hand sides written here,
independently, from DATASETS.md (the library's equations are not imported)."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp


def ode24(x, c0, c1):
    return [x[1], -c0 * x[0]]


def ode25(x, c0, c1):
    return [x[1], -c0 * x[0] - c1 * x[1]]


def ode28(x, c0, c1):
    return [x[1], -c0 * np.sin(x[0])]


def ode32(x, c0, c1):
    return [x[1], -c0 * x[1] - x[0] ** 3 + x[0]]


def ode34(x, c0, c1):
    return [x[1], (-c0 + np.cos(x[0])) * np.sin(x[0])]


def ode35(x, c0, c1):
    return [
        np.cos(x[0]) / np.tan(x[1]),
        np.sin(x[0]) * (c0 * np.sin(x[1]) ** 2 + np.cos(x[1]) ** 2),
    ]


def ode37(x, c0, c1):
    return [x[1], -c0 * x[1] * (x[0] ** 2 - 1) - x[0]]


def ode38(x, c0, c1):
    return [c0 * (-(x[0] ** 3) / 3 + x[0] + x[1]), -x[0] / c0]


def ode39(x, c0, c1):
    return [c0 * x[1] + x[0] ** 2 * x[1] - x[0], -c0 * x[0] + c1 - x[0] ** 2 * x[1]]


def ode40(x, c0, c1):
    return [x[1], c0 * x[1] * (1 - x[0] ** 2) - x[0]]


ODEBENCH = {24: ode24, 25: ode25, 28: ode28, 32: ode32, 34: ode34, 35: ode35, 37: ode37,
            38: ode38, 39: ode39, 40: ode40}  # fmt: skip


def lotka_volterra(z, beta, delta):
    x, y = z
    return [0.5 * x - beta * x * y, delta * x * y - 0.5 * y]


def glycolysis(s, k1, big_k1):
    s1, s2, s3, s4, s5, s6, s7 = s
    j0, k2, k3, k4, k5, k6, q, n, a, kappa, psi, k = (
        2.5, 6.0, 16.0, 100.0, 1.28, 12.0, 4.0, 1.0, 4.0, 13.0, 0.1, 1.8
    )  # fmt: skip
    v1 = k1 * s1 * s6 / (1 + (s6 / big_k1) ** q)
    return [
        j0 - v1,
        2 * v1 - k2 * s2 * (n - s5) - k6 * s2 * s5,
        k2 * s2 * (n - s5) - k3 * s3 * (a - s6),
        k3 * s3 * (a - s6) - k4 * s4 * s5 - kappa * (s4 - s7),
        k2 * s2 * (n - s5) - k4 * s4 * s5 - k6 * s2 * s5,
        -2 * v1 + 2 * k3 * s3 * (a - s6) - k5 * s6,
        psi * kappa * (s4 - s7) - k * s7,
    ]


def selkov(z, b):
    x, y = z
    return [-x + 0.1 * y + x * x * y, b - 0.1 * y - x * x * y]


def reference(rhs, x0, t, params):
    sol = solve_ivp(lambda _, z: rhs(z, *params), (t[0], t[-1]), x0, t_eval=t,
                    method="DOP853", rtol=1e-10, atol=1e-12)  # fmt: skip
    assert sol.success
    return sol.y.T


def picks(ds, n=3, seed=0):
    """A few (env, traj) pairs spread over the split."""
    rng = np.random.default_rng(seed)
    return [(int(rng.integers(ds.sizes["env"])), int(rng.integers(ds.sizes["traj"])))
            for _ in range(n)]  # fmt: skip


def check_against_scipy(ds, rhs, param_names, env_filter=None):
    envs = np.arange(ds.sizes["env"]) if env_filter is None else np.flatnonzero(env_filter)
    sub = ds.isel(env=envs)
    for e, j in picks(sub):
        x = sub.x.values[e, j]
        t = sub.t.values[e]
        params = [float(sub[f"param_{p}"].values[e]) for p in param_names]
        expected = reference(rhs, x[0], t, params)
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(x, expected, rtol=0, atol=1e-7 * scale)


@pytest.mark.parametrize("fid", sorted(ODEBENCH))
@pytest.mark.parametrize("split", ["train", "test", "adapt_test"])
def test_odebench10b_family_matches_scipy(full_datasets, fid, split):
    ds = full_datasets("odebench10b")[split]
    check_against_scipy(ds, ODEBENCH[fid], ["c0", "c1"], ds.family.values == str(fid))


@pytest.mark.parametrize("fid", [25, 35])
@pytest.mark.parametrize("split", ["val", "adapt_train"])
def test_odebench2_family_matches_scipy(full_datasets, fid, split):
    ds = full_datasets("odebench2")[split]
    check_against_scipy(ds, ODEBENCH[fid], ["c0", "c1"], ds.family.values == str(fid))


@pytest.mark.parametrize(
    ("name", "rhs", "params"),
    [
        ("lv", lotka_volterra, ["beta", "delta"]),
        ("go", glycolysis, ["k1", "K1_inh"]),
        ("sm", selkov, ["b"]),
    ],
)
@pytest.mark.parametrize("split", ["train", "val", "adapt_test"])
def test_gendyn_matches_scipy(full_datasets, name, rhs, params, split):
    check_against_scipy(full_datasets(name)[split], rhs, params)
