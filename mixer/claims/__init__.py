"""Which of the paper's findings our results reproduce: the paper's numbers, its findings as
comparisons of our quantities, the verdict rule and the claims table."""

from mixer.claims.findings import CLAIMS, Claim, Comparison
from mixer.claims.paper import PAPER, PaperValue, Quantity, paper_value
from mixer.claims.table import claim_metrics, evaluate, long_results, to_html, to_markdown
from mixer.claims.verdict import Summary, Verdict, combine, judge

__all__ = [
    "CLAIMS",
    "Claim",
    "Comparison",
    "PAPER",
    "PaperValue",
    "Quantity",
    "paper_value",
    "claim_metrics",
    "evaluate",
    "long_results",
    "to_html",
    "to_markdown",
    "Summary",
    "Verdict",
    "combine",
    "judge",
]
