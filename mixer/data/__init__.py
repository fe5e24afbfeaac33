"""Dataset simulators, loaders and splits, all producing the canonical xarray layout.

See ``docs``/DATASETS.md for what each dataset is; :mod:`mixer.data.registry` is the entry
point (names, specs, ``build_dataset``).
"""

from mixer.data.registry import (
    DATASET_NAMES,
    DatasetSpec,
    Epilepsy2Spec,
    GenDynSpec,
    OdeBenchSpec,
    SccTsSpec,
    SplitCounts,
    build_dataset,
    default_spec,
    epilepsy2_available,
    spec_from_config,
    split_names,
)

__all__ = [
    "DATASET_NAMES",
    "DatasetSpec",
    "Epilepsy2Spec",
    "GenDynSpec",
    "OdeBenchSpec",
    "SccTsSpec",
    "SplitCounts",
    "build_dataset",
    "default_spec",
    "epilepsy2_available",
    "spec_from_config",
    "split_names",
]
