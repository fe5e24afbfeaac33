"""Rule script: the claims table (which of the paper's findings our results reproduce) as CSV,
Markdown and HTML, and the comparisons behind it as CSV."""

import math
from pathlib import Path

from mixer.claims import claim_metrics, evaluate, long_results, to_html, to_markdown
from mixer.claims.paper import TABLE4_UNITS
from mixer.io.runs import runs_frame
from mixer.runlog import configure_logging

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
scale, built = sm.params.scale, list(sm.params.experiments)
frames = [
    runs_frame(list(getattr(sm.input, name)), claim_metrics(name)).assign(experiment=name)
    for name in built
    if claim_metrics(name)
]
claims, comparisons = evaluate(long_results(frames), built)
claims.insert(0, "scale", scale)
comparisons.insert(0, "scale", scale)
claims.to_csv(sm.output.csv, index=False)
comparisons.to_csv(sm.output.comparisons, index=False)
units = ", ".join(
    f"{name.upper()} ×10^{math.log10(unit):.0f}" for name, unit in TABLE4_UNITS.items()
)
note = (
    f"Scale: {scale}. Experiments built by this config: {', '.join(built) or 'none'}. "
    f"Table 4 MSEs, the paper's and ours, in the paper's units ({units}); every other "
    "number as the run files store it. TRAIN: test split of the training environments; "
    "ADAPT: adapt_test after adapting the contexts; InD / OoD: the same for LV, GO, SM."
)
Path(sm.output.md).write_text(to_markdown(claims, comparisons, note))
Path(sm.output.html).write_text(to_html(claims, comparisons, note))
log.info("\n%s", claims[["claim_id", "verdict", "reason"]].to_string())
