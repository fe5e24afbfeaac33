"""The MixER layer (SPEC §2.3): the module with its stacked experts, gate and sparse top-1
routing (``module``), the gate update's loss matrix (``loss_matrix``), and its construction
and sizing (``build``)."""

from mixer.layer.build import active_param_count as active_param_count
from mixer.layer.build import make_mixer as make_mixer
from mixer.layer.build import stack_experts as stack_experts
from mixer.layer.module import MixER as MixER

__all__ = ["MixER", "make_mixer", "active_param_count", "stack_experts"]
