"""The paper's numbers (Tables 2, 3 and 4), in one place, keyed by the quantity they report.

A :class:`Quantity` names one number of our results: a metric of one model (backbone and
variant) in one experiment, as the run files store it (``metrics.json``: ``test_rel_mse`` is
the TRAIN column, ``adapt_rel_mse`` ADAPT, ``test_mse`` InD, ``adapt_mse`` OoD). The paper's
value of the same quantity is a :class:`PaperValue`: mean ± std over its 3 seeds, in the unit
its table prints (Table 4: ×10^-5 for LV, ×10^-4 for GO, ×10^-3 for SM).

Table 4's single NCF and CoDA rows (NCF*, CoDA*) come from the reference implementations and
CAVIA's from Nzoyem et al. (2025); they stand here for our single models (``mixer1``).
"""

from __future__ import annotations

import dataclasses

__all__ = [
    "Quantity",
    "PaperValue",
    "PAPER",
    "TABLE4_UNITS",
    "TABLE4_PARAMS",
    "paper_value",
    "display_unit",
]


@dataclasses.dataclass(frozen=True)
class Quantity:
    """One number of our results: ``metric`` of ``backbone``/``variant`` in ``experiment``."""

    experiment: str
    backbone: str
    variant: str
    metric: str


@dataclasses.dataclass(frozen=True)
class PaperValue:
    """A number of the paper: mean ± std as printed, in the table's ``unit`` (value = mean ×
    unit)."""

    mean: float
    std: float
    unit: float = 1.0


_REL = ("test_rel_mse", "adapt_rel_mse")  # TRAIN, ADAPT
_TPR = ("test_tprmse", "adapt_tprmse")
_MSE = ("test_mse", "adapt_mse")  # InD, OoD

# Table 2 (ODEBench-10A), relative MSE: (TRAIN mean, std, ADAPT mean, std).
_TABLE2 = {
    ("ncf", "mixer1"): (2.05, 0.12, 1.80, 0.28),
    ("ncf", "naive10"): (1.53, 0.34, 5.28, 1.04),
    ("ncf", "mixer10"): (1.05, 0.09, 2.38, 0.23),
    ("coda", "mixer1"): (0.98, 0.08, 6.91, 1.25),
    ("coda", "naive10"): (0.76, 0.07, 4.25, 0.15),
    ("coda", "mixer10"): (0.47, 0.06, 15.9, 4.2),
    ("geps", "mixer1"): (2.61, 0.1, 2.20, 0.21),
    ("geps", "naive10"): (0.58, 0.04, 1.16, 0.09),
    ("geps", "mixer10"): (1.01, 0.05, 1.29, 0.08),
}

# Table 3 (ODEBench-10B), top: relative MSE (TRAIN mean, std, ADAPT mean, std).
_TABLE3_REL = {
    ("ncf", "mixer1"): (0.12, 0.01, 3.20, 0.28),
    ("ncf", "naive10"): (0.29, 0.02, 2.53, 0.20),
    ("ncf", "mixer10"): (0.22, 0.60, 1.43, 0.23),
    ("ncf", "mixer20"): (0.38, 0.02, 0.54, 0.02),
    ("coda", "mixer1"): (0.07, 0.01, 0.34, 0.05),
    ("coda", "naive10"): (0.15, 0.03, 0.72, 0.08),
    ("coda", "mixer10"): (0.10, 0.02, 14.8, 4.2),
    ("coda", "mixer20"): (0.12, 0.04, 0.38, 0.02),
    ("geps", "mixer1"): (0.21, 0.1, 1.24, 0.07),
    ("geps", "naive10"): (0.13, 0.4, 0.49, 0.02),
    ("geps", "mixer10"): (0.06, 0.01, 1.43, 0.02),
    ("geps", "mixer20"): (0.17, 0.03, 0.92, 0.10),
}

# Table 3, bottom: TPRMSE in % (TRAIN mean, std, ADAPT mean, std).
_TABLE3_TPR = {
    ("ncf", "mixer1"): (66.9, 2.1, 40.0, 2.3),
    ("ncf", "naive10"): (36.9, 6.4, 30.0, 3.5),
    ("ncf", "mixer10"): (55.6, 4.6, 2.5, 2.8),
    ("ncf", "mixer20"): (37.5, 2.4, 20.0, 4.2),
    ("coda", "mixer1"): (85.6, 2.7, 50.0, 2.5),
    ("coda", "naive10"): (71.9, 1.6, 42.5, 0.8),
    ("coda", "mixer10"): (80.0, 2.5, 25.0, 2.8),
    ("coda", "mixer20"): (60.6, 8.0, 27.5, 1.0),
    ("geps", "mixer1"): (64.4, 3.9, 37.5, 3.5),
    ("geps", "naive10"): (71.2, 5.4, 50.0, 1.4),
    ("geps", "mixer10"): (85.6, 5.4, 32.5, 3.0),
    ("geps", "mixer20"): (55.6, 3.2, 35.0, 2.5),
}

TABLE4_UNITS = {"lv": 1e-5, "go": 1e-4, "sm": 1e-3}
"""The unit Table 4 prints the MSEs of each dataset in."""

# Table 4, per dataset: (InD mean, std, OoD mean, std) in TABLE4_UNITS.
_TABLE4 = {
    "lv": {
        ("cavia", "mixer1"): (91.0, 63.6, 120.1, 28.3),
        ("coda", "mixer1"): (1.40, 0.13, 2.19, 0.78),
        ("ncf", "mixer1"): (1.68, 0.32, 1.99, 0.31),
        ("ncf", "mixer3"): (3.70, 0.4, 4.45, 0.3),
        ("coda", "mixer3"): (4.00, 0.01, 53.5, 0.4),
        ("geps", "mixer3"): (14.8, 0.7, 82.4, 0.9),
    },
    "go": {
        ("cavia", "mixer1"): (64.0, 14.1, 463.4, 84.9),
        ("coda", "mixer1"): (5.06, 0.81, 4.22, 4.21),
        ("ncf", "mixer1"): (3.33, 0.14, 2.83, 0.23),
        ("ncf", "mixer3"): (73.5, 21.1, 141.5, 82.8),
        ("coda", "mixer3"): (42.0, 18.9, 49.3, 25.1),
        ("geps", "mixer3"): (22.3, 23.2, 259.7, 45.0),
    },
    "sm": {
        ("cavia", "mixer1"): (979.1, 141.2, 859.1, 70.7),
        ("coda", "mixer1"): (156.0, 40.52, 8.28, 0.29),
        ("ncf", "mixer1"): (6.42, 0.41, 2.03, 0.12),
        ("ncf", "mixer3"): (32.3, 4.2, 64.2, 1.5),
        ("coda", "mixer3"): (32.8, 3.9, 317.2, 6.0),
        ("geps", "mixer3"): (27.6, 5.8, 46.3, 2.7),
    },
}

TABLE4_PARAMS = {
    "lv": {
        ("cavia", "mixer1"): 305246,
        ("coda", "mixer1"): 305793,
        ("ncf", "mixer1"): 308240,
        ("ncf", "mixer3"): 307245,
        ("coda", "mixer3"): 307995,
        ("geps", "mixer3"): 305112,
    },
    "go": {
        ("cavia", "mixer1"): 130711,
        ("coda", "mixer1"): 135390,
        ("ncf", "mixer1"): 131149,
        ("ncf", "mixer3"): 130535,
        ("coda", "mixer3"): 132137,
        ("geps", "mixer3"): 131747,
    },
    "sm": {
        ("cavia", "mixer1"): 50486,
        ("coda", "mixer1"): 50547,
        ("ncf", "mixer1"): 50000,
        ("ncf", "mixer3"): 50387,
        ("coda", "mixer3"): 51995,
        ("geps", "mixer3"): 51312,
    },
}
"""Table 4's #PARAMS column: active parameters (one expert) per dataset and model."""


def _expand(
    experiment: str, table: dict, metrics: tuple[str, str], unit: float = 1.0
) -> dict[Quantity, PaperValue]:
    out = {}
    for (backbone, variant), (m0, s0, m1, s1) in table.items():
        out[Quantity(experiment, backbone, variant, metrics[0])] = PaperValue(m0, s0, unit)
        out[Quantity(experiment, backbone, variant, metrics[1])] = PaperValue(m1, s1, unit)
    return out


PAPER: dict[Quantity, PaperValue] = {
    **_expand("odebench10a", _TABLE2, _REL),
    **_expand("odebench10b", _TABLE3_REL, _REL),
    **_expand("odebench10b", _TABLE3_TPR, _TPR),
    **{
        q: v
        for name, table in _TABLE4.items()
        for q, v in _expand(name, table, _MSE, TABLE4_UNITS[name]).items()
    },
}
"""Every number of Tables 2, 3 and 4, keyed by the quantity of our results it reports."""


def paper_value(quantity: Quantity) -> PaperValue | None:
    """The paper's value of ``quantity`` (``None`` when the paper prints no number for it: a
    finding read off a figure)."""
    return PAPER.get(quantity)


def display_unit(quantity: Quantity) -> float:
    """The unit the paper prints ``quantity`` in (1 unless Table 4's)."""
    value = PAPER.get(quantity)
    if value is not None:
        return value.unit
    return TABLE4_UNITS.get(quantity.experiment, 1.0) if quantity.metric in _MSE else 1.0
