"""First-party plugin module of agreid-losses (entry point `agreid`).

Registers every loss of this package under the ``losses`` kind. Each factory returns an
``nn.Module`` whose ``forward(inputs, targets)`` returns a scalar. The margin heads (CircleSoftmax,
ArcFace, CosFace) are registered as losses by wrapping them with cross-entropy
(:class:`~agreid_losses.margin_heads.MarginSoftmaxLoss`); their class weights are parameters of
the loss module, like the centers of ``center``, so the optimiser must include them.

Imports at module load: torch, agreid_core and this package (which itself only needs torch).
"""

from __future__ import annotations

from agreid_core.components import ComponentSpec
from agreid_core.plugins.hookspecs import Register, hookimpl
from agreid_losses.asymmetric import AsymmetricLossMultiLabel, AsymmetricLossSingleLabel
from agreid_losses.attribute_bce import AttributeBCELoss
from agreid_losses.camera_triplet import CameraSoftmaxTripletLoss
from agreid_losses.center import CenterLoss
from agreid_losses.centroid_triplet import CentroidTripletLoss
from agreid_losses.circle import PairwiseCircleLoss
from agreid_losses.cross_entropy import CrossEntropyLabelSmooth, Variant
from agreid_losses.image_text import ImageTextLoss
from agreid_losses.margin_heads import ArcFace, CircleSoftmax, CosFace, MarginSoftmaxLoss
from agreid_losses.memory_contrast import VideoMemoryContrastLoss
from agreid_losses.online_label_smoothing import OnlineLabelSmoothing
from agreid_losses.proxy import bento_camera_proxy, bento_class_proxy
from agreid_losses.triplet import TripletLoss


def soft_triplet(normalize_features: bool = False) -> TripletLoss:
    """Batch-hard triplet loss with the soft margin (``TripletLoss(margin=None)``)."""
    return TripletLoss(margin=None, normalize_features=normalize_features)


def circle_softmax_loss(
    in_features: int,
    num_classes: int,
    scale: float = 64.0,
    margin: float = 0.35,
    epsilon: float = 0.0,
    variant: Variant = "bot",
) -> MarginSoftmaxLoss:
    """Cross-entropy on :class:`CircleSoftmax` logits (SBS: ``epsilon=0.1, variant="fastreid"``)."""
    head = CircleSoftmax(in_features, num_classes, scale=scale, margin=margin)
    return MarginSoftmaxLoss(head, epsilon=epsilon, variant=variant)


def arcface_loss(
    in_features: int,
    num_classes: int,
    scale: float = 30.0,
    margin: float = 0.5,
    epsilon: float = 0.0,
    variant: Variant = "bot",
) -> MarginSoftmaxLoss:
    """Cross-entropy on :class:`ArcFace` logits."""
    head = ArcFace(in_features, num_classes, scale=scale, margin=margin)
    return MarginSoftmaxLoss(head, epsilon=epsilon, variant=variant)


def cosface_loss(
    in_features: int,
    num_classes: int,
    scale: float = 30.0,
    margin: float = 0.35,
    epsilon: float = 0.0,
    variant: Variant = "bot",
) -> MarginSoftmaxLoss:
    """Cross-entropy on :class:`CosFace` (AM-softmax) logits."""
    head = CosFace(in_features, num_classes, scale=scale, margin=margin)
    return MarginSoftmaxLoss(head, epsilon=epsilon, variant=variant)


_HEAD_TINY = {"in_features": 8, "num_classes": 4}

#: Registered name → spec. Inputs: "logits" (B, K) + labels, "features" (B, D) + labels,
#: or (for the multi-label losses) logits (B, A) + targets (B, A). The camera-aware losses also
#: take ``camids`` (LossTerm ``extra_targets=("camids",)``); the proxy / memory losses need
#: ``refresh_from_features`` (the trainer calls it each epoch) and ``image-text`` needs
#: ``set_text_features`` before their first forward.
LOSS_SPECS: dict[str, ComponentSpec] = {
    "cross-entropy-ls": ComponentSpec(
        factory=CrossEntropyLabelSmooth,
        summary="Label-smoothed CE on logits; bot q=(1-ε)onehot+ε/K or fast-reid q_j=ε/(K-1)",
        tiny={"num_classes": 4},
        reference="Szegedy et al. CVPR'16 (label smoothing); BoT (Luo et al. CVPRW'19); fast-reid",
    ),
    "triplet": ComponentSpec(
        factory=TripletLoss,
        summary="Batch-hard triplet: mean max(0, d_ap - d_an + m), Euclidean, m=0.3",
        tiny={"margin": 0.3},
        reference="Hermans et al. 'In Defense of the Triplet Loss for Person Re-ID' 2017",
    ),
    "soft-triplet": ComponentSpec(
        factory=soft_triplet,
        summary="Batch-hard triplet with soft margin: mean log(1 + exp(d_ap - d_an))",
        tiny={},
        reference="Hermans et al. 2017 (batch hard, soft margin); fast-reid soft-margin triplet",
    ),
    "center": ComponentSpec(
        factory=CenterLoss,
        summary="Center loss: sum_b ||f_b - c_{y_b}||^2 / B, learnable centers N(0,1)",
        tiny={"num_classes": 4, "feat_dim": 8},
        reference="Wen et al. ECCV'16 'A Discriminative Feature Learning Approach' (no 1/2)",
    ),
    "circle-pairwise": ComponentSpec(
        factory=PairwiseCircleLoss,
        summary="Pairwise circle loss over pairs i<j of normalised features (γ 32, m .25), /B",
        tiny={"gamma": 32.0, "margin": 0.25},
        reference="Sun et al. 'Circle Loss' CVPR'20 (pair-wise form); layumi divides by B",
    ),
    "circle-softmax": ComponentSpec(
        factory=circle_softmax_loss,
        summary="CE on CircleSoftmax class logits (s 64, m .35); head weights live in the loss",
        tiny=dict(_HEAD_TINY),
        reference="Sun et al. 'Circle Loss' CVPR'20 (class-level form); fast-reid CircleSoftmax",
    ),
    "arcface": ComponentSpec(
        factory=arcface_loss,
        summary="CE on ArcFace logits s*cos(θ_y + m) (s 30, m .5); head weights live in the loss",
        tiny=dict(_HEAD_TINY),
        reference="Deng et al. 'ArcFace: Additive Angular Margin Loss' CVPR'19",
    ),
    "cosface": ComponentSpec(
        factory=cosface_loss,
        summary="CE on CosFace/AM-softmax logits s*(cos θ_y - m) (s 30, m .35)",
        tiny=dict(_HEAD_TINY),
        reference="Wang et al. 'CosFace' CVPR'18; Wang et al. 'Additive Margin Softmax' SPL'18",
    ),
    "centroid-triplet": ComponentSpec(
        factory=CentroidTripletLoss,
        summary="Centroid triplet: batch-hard triplet on [k-th queries; other-image centroids]",
        tiny={"margin": 0.3},
        reference="Wieczorek et al. 'On the Unreasonable Effectiveness of Centroids' ICONIP'21",
    ),
    "asl-single": ComponentSpec(
        factory=AsymmetricLossSingleLabel,
        summary="Single-label ASL: -sum q_j w_j log p_j, w_y=(1-p_y)^γ+, w_j=p_j^γ-",
        tiny={"gamma_pos": 0.0, "gamma_neg": 4.0, "epsilon": 0.1},
        reference="Ridnik, Ben-Baruch et al. 'Asymmetric Loss' ICCV'21 (single-label form)",
    ),
    "asl-multi": ComponentSpec(
        factory=AsymmetricLossMultiLabel,
        summary="Multi-label ASL: (1-p)^γ+ log p and p_m^γ- log(1-p_m), p_m=max(p-clip,0)",
        tiny={"gamma_neg": 4.0, "gamma_pos": 1.0, "clip": 0.05},
        reference="Ridnik, Ben-Baruch et al. 'Asymmetric Loss for Multi-Label Classif.' ICCV'21",
    ),
    "attribute-bce": ComponentSpec(
        factory=AttributeBCELoss,
        summary="BCE-with-logits over binary attribute columns; targets < 0 (unknown) ignored",
        tiny={},
        reference="CentroidNet attribute branch (AG-ReID 2023 challenge, appendix A.2)",
    ),
    "online-label-smoothing": ComponentSpec(
        factory=OnlineLabelSmoothing,
        summary="α·CE + (1-α)·soft CE vs S[:, y]; S = mean softmax of correct samples, per epoch",
        tiny={"num_classes": 4},
        reference="Zhang et al. 'Delving Deep into Label Smoothing' TIP'21; X-TFCLIP (AG-VPReID'25)",
    ),
    "bento-class-proxy": ComponentSpec(
        factory=bento_class_proxy,
        summary="BENTO L_cen: CE over cos(f, class proxies)/τ (τ .05), proxies refreshed per epoch",
        tiny={"num_classes": 4, "feat_dim": 8},
        reference="BENTO, AG-ReID 2023 challenge report (IJCB 2023), appendix A.3, L_cen",
    ),
    "bento-camera-proxy": ComponentSpec(
        factory=bento_camera_proxy,
        summary="BENTO L_cp: cross-platform own-ID camera proxy vs hardest same-camera proxy, τ .05",
        tiny={"num_classes": 4, "feat_dim": 8, "num_cameras": 2},
        reference="BENTO, AG-ReID 2023 challenge report (IJCB 2023), appendix A.3, Eq. (1)",
    ),
    "camera-softmax-triplet": ComponentSpec(
        factory=CameraSoftmaxTripletLoss,
        summary="BENTO L_ch: softplus((s_an - s_ap)/τ), cross-camera hard pos, same-camera hard neg",
        tiny={},
        reference="BENTO (AG-ReID 2023, appendix A.3) names L_ch; form = method card L-PRX proposal",
    ),
    "video-memory-contrast": ComponentSpec(
        factory=VideoMemoryContrastLoss,
        summary="V2M: CE over cos(v, per-ID memory)/τ (or per-memory Eq. 2); momentum memory",
        tiny={"num_classes": 4, "feat_dim": 8},
        reference="TFCLIP-AG-VPReID (AG-VPReID 2025 challenge, appendix A.2, Eq. 2); TF-CLIP I2T",
    ),
    "image-text": ComponentSpec(
        factory=ImageTextLoss,
        summary="CLIP image-to-text CE: logits = v·Tᵀ/τ over per-identity text features, opt. LS",
        tiny={"num_classes": 4, "feat_dim": 8},
        reference="Li et al. 'CLIP-ReID' AAAI'23 (stage 2); Yu et al. 'TF-CLIP' AAAI'24 (I2T)",
    ),
}


@hookimpl
def agreid_register_losses(register: Register) -> None:
    """Register every loss of agreid-losses by its kebab-case name."""
    for name, spec in LOSS_SPECS.items():
        register(name, spec)
