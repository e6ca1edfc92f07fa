"""Hyper-parameter search over any registered method's config: MFHO (multi-fidelity
hyper-parameter optimisation, AG-VPReID 2025 challenge, Appendix A.4), with Optuna's
Hyperband / successive-halving pruners over epochs and a validation-mAP objective.

:mod:`agreid_core.tuning.space` parses search spaces (no optuna needed);
:mod:`agreid_core.tuning.search` runs the study and imports optuna lazily (install it with
``pip install 'agreid-core[tune]'``).
"""

from agreid_core.tuning.space import (
    Param,
    SearchSpace,
    build_space,
    load_space_file,
    parse_assignment,
    parse_distribution,
)

__all__ = [
    "Param",
    "SearchSpace",
    "build_space",
    "load_space_file",
    "parse_assignment",
    "parse_distribution",
]
