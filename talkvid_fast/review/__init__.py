"""Human validation of the filters (the TalkVid paper's Appendix C): a blinded sample per filter, a labelling
page, and agreement between annotators and against the engine (`python -m talkvid_fast.review`)."""

from __future__ import annotations

from ._guidelines import GUIDELINES, KEYS, guideline, label_value
from ._sample import candidates, draw, sample
from ._server import ReviewSession, start_server
from ._stats import consensus, iaa, pair_agreement, render_iaa

__all__ = [
    "GUIDELINES",
    "KEYS",
    "ReviewSession",
    "candidates",
    "consensus",
    "draw",
    "guideline",
    "iaa",
    "label_value",
    "pair_agreement",
    "render_iaa",
    "sample",
    "start_server",
]
