"""ReID losses for agreid: label-smoothed CE, triplet, center, circle, proxies, contrastive memory losses."""

from agreid_losses.asymmetric import AsymmetricLossMultiLabel, AsymmetricLossSingleLabel
from agreid_losses.attribute_bce import AttributeBCELoss
from agreid_losses.center import CenterLoss
from agreid_losses.centroid_triplet import CentroidTripletLoss
from agreid_losses.circle import PairwiseCircleLoss
from agreid_losses.cross_entropy import CrossEntropyLabelSmooth
from agreid_losses.margin_heads import ArcFace, CircleSoftmax, CosFace, MarginSoftmaxLoss
from agreid_losses.triplet import TripletLoss

__version__ = "0.1.0"

__all__ = [
    "ArcFace",
    "AsymmetricLossMultiLabel",
    "AsymmetricLossSingleLabel",
    "AttributeBCELoss",
    "CenterLoss",
    "CentroidTripletLoss",
    "CircleSoftmax",
    "CosFace",
    "CrossEntropyLabelSmooth",
    "MarginSoftmaxLoss",
    "PairwiseCircleLoss",
    "TripletLoss",
    "__version__",
]
