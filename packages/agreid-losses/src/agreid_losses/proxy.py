"""BENTO's class-proxy loss L_cen and camera-proxy loss L_cp (AG-ReID 2023, appendix A.3; card L-PRX).

Proxies are memory, not parameters. ``refresh_from_features(features, labels, camids)`` (called by
the trainer at every epoch start with the whole training set's features) sets::

    p_k    = normalize(mean_{i : y_i = k}            normalize(f_i))     class proxy      (K, D)
    c_{k,e} = normalize(mean_{i : y_i = k, cam_i = e} normalize(f_i))     camera proxy  (K, C, D)

Proxies are buffers (checkpointed, no gradient); a proxy without samples is marked absent. With
f_b = normalize(features_b), y_b its identity, e_b its camera and τ = 0.05 (BENTO)::

    L_cen = mean_b −log( exp(f_b·p_{y_b}/τ) / Σ_{k present} exp(f_b·p_k/τ) )

    L_cp  = mean_b mean_{g ∈ G_b} −log( exp(f_b·c_{y_b,g}/τ)
                                         / (exp(f_b·c_{y_b,g}/τ) + exp(f_b·c⁻_b/τ)) )

where, following BENTO Eq. (1) ("c_g is the camera-proxy from ground/aerial camera g of the b-th
sample's class (e ≠ g), and c⁻_e is the hardest negative proxy from the same camera of the b-th
sample but from another class"):

- G_b = cameras g whose *platform* differs from that of e_b and with a proxy c_{y_b,g} present.
  ``camera_platforms[c]`` gives each camera's platform (AG-ReID: aerial vs. ground, e.g.
  ``[0, 1, 1]`` for aerial / CCTV / wearable); by default every camera is its own platform, so
  G_b is every other camera of the identity. With several such cameras (an aerial sample and two
  ground cameras) the per-positive terms are averaged (card: design proposal);
- c⁻_b = argmax_{k ≠ y_b, c_{k,e_b} present} f_b·c_{k,e_b}: the most similar proxy of another
  identity under the sample's own camera.

Samples whose identity has no class proxy (L_cen), or no positive or no negative camera proxy
(L_cp), are skipped; a term with no valid sample is 0 (attached to the graph). The module returns
``lambda_cen · L_cen + lambda_cp · L_cp`` (BENTO: L = L_cen + 0.5·L_cp + 0.5·L_ch); the registered
factories build one term each with its λ as ``weight`` (then keep the recipe's term weight at 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_losses._checks import check_class_range, check_labels, zero_loss


def mean_proxies(features: Tensor, index: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """L2-normalised mean of L2-normalised ``features`` (N, D) per ``index`` value in [0, size).

    Returns ``(proxies (size, D), present (size,) bool)``; absent rows are zeros.
    """
    f = F.normalize(features, dim=1)
    sums = torch.zeros(size, f.shape[1], dtype=f.dtype, device=f.device)
    sums.index_add_(0, index, f)
    counts = torch.bincount(index, minlength=size)
    return F.normalize(sums, dim=1), counts > 0


def class_proxy_loss(
    features: Tensor, targets: Tensor, proxies: Tensor, present: Tensor, temperature: float
) -> Tensor:
    """L_cen of unit ``features`` (B, D) against unit ``proxies`` (K, D); see the module docstring."""
    logits = (features @ proxies.t()) / temperature
    logits = logits.masked_fill(~present.unsqueeze(0), float("-inf"))
    valid = present[targets]
    if not bool(valid.any()):
        return zero_loss(features)
    return F.cross_entropy(logits[valid], targets[valid])


def camera_proxy_loss(
    features: Tensor,
    targets: Tensor,
    camids: Tensor,
    proxies: Tensor,
    present: Tensor,
    platforms: Tensor,
    temperature: float,
) -> Tensor:
    """L_cp of unit ``features`` (B, D) against unit camera ``proxies`` (K, C, D).

    ``present`` (K, C) marks existing proxies, ``platforms`` (C,) the platform of each camera.
    """
    b = torch.arange(features.shape[0], device=features.device)
    own = proxies[targets]  # (B, C, D): the sample's identity under every camera
    s_pos = torch.einsum("bd,bcd->bc", features, own)
    pos = present[targets] & (platforms.unsqueeze(0) != platforms[camids].unsqueeze(1))
    same_cam = proxies[:, camids].transpose(0, 1)  # (B, K, D): every identity under camera e_b
    s_cam = torch.einsum("bd,bkd->bk", features, same_cam)
    neg = present[:, camids].t().clone()
    neg[b, targets] = False
    s_neg = s_cam.masked_fill(~neg, float("-inf")).amax(dim=1)
    valid = pos.any(dim=1) & neg.any(dim=1)
    if not bool(valid.any()):
        return zero_loss(features)
    pos, s_pos, s_neg = pos[valid], s_pos[valid], s_neg[valid]
    terms = F.softplus((s_neg.unsqueeze(1) - s_pos) / temperature)
    per_sample = (terms * pos).sum(dim=1) / pos.sum(dim=1)
    return per_sample.mean()


class BentoProxyLoss(nn.Module):
    """``lambda_cen · L_cen + lambda_cp · L_cp`` against class / camera proxies (τ = 0.05).

    ``forward(features, pids, camids=None)``; ``camids`` is required when ``lambda_cp > 0``.
    Call ``refresh_from_features`` first (the trainer does at every epoch start), else a
    ``RuntimeError`` is raised.
    """

    class_proxies: Tensor
    class_present: Tensor
    camera_proxies: Tensor
    camera_present: Tensor
    platforms: Tensor
    refreshed: Tensor

    def __init__(
        self,
        num_classes: int,
        feat_dim: int,
        num_cameras: int = 1,
        temperature: float = 0.05,
        lambda_cen: float = 1.0,
        lambda_cp: float = 0.5,
        camera_platforms: Sequence[int] | None = None,
        feature_key: str = "features",
    ) -> None:
        super().__init__()
        if num_classes < 1 or feat_dim < 1 or num_cameras < 1:
            raise ValueError(
                "num_classes, feat_dim and num_cameras must be positive, "
                f"got {num_classes}, {feat_dim}, {num_cameras}"
            )
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if lambda_cen < 0 or lambda_cp < 0:
            raise ValueError(f"lambdas must be >= 0, got {lambda_cen}, {lambda_cp}")
        if camera_platforms is None:
            camera_platforms = list(range(num_cameras))
        if len(camera_platforms) != num_cameras:
            raise ValueError(
                f"camera_platforms needs one entry per camera ({num_cameras}), "
                f"got {len(camera_platforms)}"
            )
        self.num_classes = num_classes
        self.feat_dim = feat_dim
        self.num_cameras = num_cameras
        self.temperature = float(temperature)
        self.lambda_cen = float(lambda_cen)
        self.lambda_cp = float(lambda_cp)
        self.feature_key = feature_key
        self.register_buffer("class_proxies", torch.zeros(num_classes, feat_dim))
        self.register_buffer("class_present", torch.zeros(num_classes, dtype=torch.bool))
        self.register_buffer("camera_proxies", torch.zeros(num_classes, num_cameras, feat_dim))
        self.register_buffer(
            "camera_present", torch.zeros(num_classes, num_cameras, dtype=torch.bool)
        )
        self.register_buffer("platforms", torch.tensor(list(camera_platforms), dtype=torch.long))
        self.register_buffer("refreshed", torch.tensor(False))

    @torch.no_grad()
    def refresh_from_features(self, features: Tensor, labels: Tensor, camids: Tensor) -> None:
        """Recompute every proxy from the whole training set's ``features`` (N, D)."""
        name = type(self).__name__
        check_labels(features, labels, name=name)
        if features.shape[1] != self.feat_dim:
            raise ValueError(f"{name}: expected features of dim {self.feat_dim}")
        check_class_range(labels, self.num_classes, name=name)
        f = features.detach().to(self.class_proxies)
        labels = labels.to(f.device)
        proxies, present = mean_proxies(f, labels, self.num_classes)
        self.class_proxies.copy_(proxies)
        self.class_present.copy_(present)
        if self.lambda_cp > 0:
            camids = self._check_camids(features, camids).to(f.device)
            flat = labels * self.num_cameras + camids
            size = self.num_classes * self.num_cameras
            cam_proxies, cam_present = mean_proxies(f, flat, size)
            self.camera_proxies.copy_(cam_proxies.view(self.num_classes, self.num_cameras, -1))
            self.camera_present.copy_(cam_present.view(self.num_classes, self.num_cameras))
        self.refreshed.fill_(True)

    def _check_camids(self, features: Tensor, camids: Tensor | None) -> Tensor:
        name = type(self).__name__
        if camids is None:
            raise ValueError(f"{name}: the camera-proxy term needs camids (extra_targets)")
        check_labels(features, camids, name=f"{name} (camids)")
        if camids.numel() and (int(camids.min()) < 0 or int(camids.max()) >= self.num_cameras):
            raise ValueError(f"{name}: camids must lie in [0, {self.num_cameras})")
        return camids

    def forward(self, inputs: Tensor, targets: Tensor, camids: Tensor | None = None) -> Tensor:
        """Scalar loss of features ``inputs`` (B, D), labels ``targets`` (B,), ``camids`` (B,)."""
        name = type(self).__name__
        check_labels(inputs, targets, name=name)
        if not bool(self.refreshed):
            raise RuntimeError(
                f"{name}: proxies are not initialised; call refresh_from_features(features, "
                "labels, camids) with the training set's features before the first forward"
            )
        if inputs.shape[1] != self.feat_dim:
            raise ValueError(f"{name}: expected features of dim {self.feat_dim}")
        check_class_range(targets, self.num_classes, name=name)
        f = F.normalize(inputs, dim=1)
        total = zero_loss(inputs)
        if self.lambda_cen > 0:
            proxies = self.class_proxies.to(f.dtype)
            l_cen = class_proxy_loss(f, targets, proxies, self.class_present, self.temperature)
            total = total + self.lambda_cen * l_cen
        if self.lambda_cp > 0:
            cams = self._check_camids(inputs, camids)
            l_cp = camera_proxy_loss(
                f,
                targets,
                cams,
                self.camera_proxies.to(f.dtype),
                self.camera_present,
                self.platforms,
                self.temperature,
            )
            total = total + self.lambda_cp * l_cp
        return total

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, feat_dim={self.feat_dim}, "
            f"num_cameras={self.num_cameras}, temperature={self.temperature}, "
            f"lambda_cen={self.lambda_cen}, lambda_cp={self.lambda_cp}, "
            f"platforms={self.platforms.tolist()}"
        )


def bento_class_proxy(
    num_classes: int,
    feat_dim: int,
    temperature: float = 0.05,
    weight: float = 1.0,
    feature_key: str = "features",
) -> BentoProxyLoss:
    """BENTO's L_cen alone, scaled by ``weight`` (λ_cen, 1 in BENTO); camids are not needed."""
    return BentoProxyLoss(
        num_classes,
        feat_dim,
        num_cameras=1,
        temperature=temperature,
        lambda_cen=weight,
        lambda_cp=0.0,
        feature_key=feature_key,
    )


def bento_camera_proxy(
    num_classes: int,
    feat_dim: int,
    num_cameras: int,
    temperature: float = 0.05,
    weight: float = 0.5,
    camera_platforms: Sequence[int] | None = None,
    feature_key: str = "features",
) -> BentoProxyLoss:
    """BENTO's L_cp alone, scaled by ``weight`` (λ_cp = 0.5 in BENTO); needs camids."""
    return BentoProxyLoss(
        num_classes,
        feat_dim,
        num_cameras=num_cameras,
        temperature=temperature,
        lambda_cen=0.0,
        lambda_cp=weight,
        camera_platforms=camera_platforms,
        feature_key=feature_key,
    )
