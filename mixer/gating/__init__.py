"""The context-based gate update of MixER (paper Algorithms 1 and 2)."""

from mixer.gating.assignment import (
    PAIRINGS as PAIRINGS,
    PairingFn as PairingFn,
    cluster_median_losses as cluster_median_losses,
    get_pairing as get_pairing,
    greedy_pairing as greedy_pairing,
    optimal_pairing as optimal_pairing,
)
from mixer.gating.gate import (
    GateState as GateState,
    augment as augment,
    gate_logits as gate_logits,
    gate_probabilities as gate_probabilities,
    initial_gate_state as initial_gate_state,
    route as route,
)
from mixer.gating.kmeans import KMeansResult as KMeansResult, kmeans as kmeans
from mixer.gating.lstsq import fit_gate as fit_gate, proxy_targets as proxy_targets
from mixer.gating.update import (
    GateConfig as GateConfig,
    GateUpdateResult as GateUpdateResult,
    gate_abandoned as gate_abandoned,
    gate_fit as gate_fit,
    gate_kmeans as gate_kmeans,
    gate_update as gate_update,
    gate_update_keys as gate_update_keys,
)
