"""MixER: sparse top-1 mixtures of expert meta-learners for families of dynamical systems."""

__version__ = "0.1.0"
