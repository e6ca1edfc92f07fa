"""Named, registered evaluators: which protocols of which dataset a run reports.

Each published benchmark is an :class:`ProtocolEvaluator` registered under the name of the
dataset it scores (``agreid-v1``: A→G, G→A; ``agreid-v2``: A→C, A→W, C→A, W→A; …). A run
uses ``training.eval.evaluator``: ``auto`` picks the evaluator registered under the dataset's
name (every protocol the loader found when there is none), any other name must be a
registered evaluator whose protocols the dataset has. A plugin adds an evaluator for its own
dataset, or one that reports a subset (``agreid-a2g``: only A→G), with the same hook.

Every evaluator scores its protocols with
:func:`~agreid_core.evaluation.protocol_eval.evaluate_protocols`: the full protocol, one row
per flight altitude where the dataset states altitudes, and the gallery without distractor
identities where it has some.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agreid_core.data.dataset import ReIDData


@dataclass(frozen=True)
class ProtocolEvaluator:
    """The protocols (by name) that one benchmark reports, in the papers' order."""

    protocols: tuple[str, ...]
    summary: str = ""
    reference: str = ""

    def select(self, data: ReIDData, name: str = "") -> ReIDData:
        """``data`` restricted to this evaluator's protocols, in its order.

        Raises ``ValueError`` naming the protocols the dataset lacks.
        """
        have = {p.name: p for p in data.protocols}
        missing = [p for p in self.protocols if p not in have]
        if missing:
            raise ValueError(
                f"evaluator {name or '?'} needs protocol(s) {missing}, but dataset "
                f"{data.name!r} has: {', '.join(have) or 'none'}"
            )
        return replace(data, protocols=tuple(have[p] for p in self.protocols))


#: The built-in evaluators (registered by agreid-core's plugin).
BUILTIN_EVALUATORS: dict[str, ProtocolEvaluator] = {
    "agreid-v1": ProtocolEvaluator(
        ("A→G", "G→A"),
        "AG-ReID v1: aerial→CCTV and CCTV→aerial",
        "Nguyen et al., ICME 2023",
    ),
    "agreid-v2": ProtocolEvaluator(
        ("A→C", "A→W", "C→A", "W→A"),
        "AG-ReID.v2: aerial↔CCTV and aerial↔wearable (exp1/2/4/5 lists)",
        "Nguyen et al., IEEE TIFS 2024",
    ),
    "agreid-challenge23": ProtocolEvaluator(
        ("A→G", "G→A"),
        "AG-ReID 2023 challenge: exp3 A→G and exp6 G→A, add-on distractors in the gallery",
        "Nguyen et al., IJCB 2023",
    ),
    "agreid-a2g": ProtocolEvaluator(("A→G",), "aerial→ground only (any AG-ReID-layout data)"),
    "agreid-g2a": ProtocolEvaluator(("G→A",), "ground→aerial only (any AG-ReID-layout data)"),
    "embedded": ProtocolEvaluator(("A→G", "G→A"), "the embedded synthetic image world"),
    "agvpreid": ProtocolEvaluator(
        ("A→G", "G→A"),
        "AG-VPReID: case 1 A→G, case 2 G→A; rows per altitude (80 m, 120 m) and without the "
        "aerial distractors",
        "Nguyen et al., CVPR 2025",
    ),
    "embedded-video": ProtocolEvaluator(("A→G", "G→A"), "the embedded synthetic video world"),
    "market1501": ProtocolEvaluator(
        ("query→gallery",),
        "Market-1501 single query, distractors (pid 0) in the gallery",
        "Zheng et al., ICCV 2015",
    ),
    "mars": ProtocolEvaluator(
        ("query→gallery",),
        "MARS: queries appended to the gallery (official evaluation)",
        "Zheng et al., ECCV 2016",
    ),
    "g2a-vreid": ProtocolEvaluator(
        ("G→A",), "G2A-VReID: ground→UAV (v1 and v2)", "Zhang et al., ECCV 2024"
    ),
}
