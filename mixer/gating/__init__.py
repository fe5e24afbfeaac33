"""The context-based gate update of MixER (paper Algorithms 1 and 2)."""

from mixer.gating.assignment import (
    PAIRINGS as PAIRINGS,
)
from mixer.gating.assignment import (
    PairingFn as PairingFn,
)
from mixer.gating.assignment import (
    cluster_median_losses as cluster_median_losses,
)
from mixer.gating.assignment import (
    get_pairing as get_pairing,
)
from mixer.gating.assignment import (
    greedy_pairing as greedy_pairing,
)
from mixer.gating.assignment import (
    optimal_pairing as optimal_pairing,
)
from mixer.gating.gate import (
    GateState as GateState,
)
from mixer.gating.gate import (
    augment as augment,
)
from mixer.gating.gate import (
    gate_logits as gate_logits,
)
from mixer.gating.gate import (
    gate_probabilities as gate_probabilities,
)
from mixer.gating.gate import (
    initial_gate_state as initial_gate_state,
)
from mixer.gating.gate import (
    route as route,
)
from mixer.gating.kmeans import KMeansResult as KMeansResult
from mixer.gating.kmeans import kmeans as kmeans
from mixer.gating.lstsq import fit_gate as fit_gate
from mixer.gating.lstsq import proxy_targets as proxy_targets
from mixer.gating.update import (
    GateConfig as GateConfig,
)
from mixer.gating.update import (
    GateUpdateResult as GateUpdateResult,
)
from mixer.gating.update import (
    gate_abandoned as gate_abandoned,
)
from mixer.gating.update import (
    gate_fit as gate_fit,
)
from mixer.gating.update import (
    gate_kmeans as gate_kmeans,
)
from mixer.gating.update import (
    gate_update as gate_update,
)
from mixer.gating.update import (
    gate_update_keys as gate_update_keys,
)
