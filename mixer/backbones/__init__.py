"""Backbones (experts) and the registry mapping config names to classes."""

from mixer.backbones.base import AbstractBackbone, trajectory_mse
from mixer.backbones.cavia import CAVIA
from mixer.backbones.coda import CoDA
from mixer.backbones.geps import GEPS
from mixer.backbones.mlp import SwishMLP, apply_mlp, swish
from mixer.backbones.ncf import NCF
from mixer.backbones.plrnn import PLRNN, PLRNNWeights
from mixer.backbones.registry import BACKBONES, backbone_options, count_params, make_backbone

__all__ = [
    "AbstractBackbone",
    "BACKBONES",
    "CAVIA",
    "CoDA",
    "GEPS",
    "NCF",
    "PLRNN",
    "PLRNNWeights",
    "SwishMLP",
    "apply_mlp",
    "backbone_options",
    "count_params",
    "make_backbone",
    "swish",
    "trajectory_mse",
]
