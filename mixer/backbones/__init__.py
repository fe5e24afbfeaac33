"""Backbones (experts) and the registry mapping config names to classes."""

from mixer.backbones.base import AbstractBackbone, trajectory_mse

__all__ = ["AbstractBackbone", "trajectory_mse"]
