"""Backbones, each registered by name with a tiny configuration for tests.

Output convention: a backbone is an ``nn.Module`` with an int attribute ``feature_dim``
whose ``forward(x)`` returns a feature map of shape (B, ``feature_dim``, H', W'), so the
same pooling heads (GAP, GeM) work for all of them:

- CNNs (ResNet, IBN-a ResNet, OSNet, HRNet) return their final map (HRNet: the 2048-channel
  map of timm's classification head, stride 32).
- Swin / SwinV2 return the layer-normed last stage, permuted from timm's (B, H', W', C) to
  (B, C, H', W').
- ViT returns the final-norm CLS feature as (B, C, 1, 1); ``forward_tokens`` gives the
  token sequence (B, 1 + N, C) for part-based heads. ViT's ``forward(x, camids=None)``
  takes camera ids for the SIE camera embedding.

Weights follow one policy (:mod:`agreid_models.backbones.pretrained`): ``weights=PATH`` loads a
local file; ``pretrained=True`` uses hub weights when reachable (timm models) and otherwise
logs a warning and keeps the random initialisation. ``BACKBONE_SPECS`` in
:mod:`agreid_models.backbones.specs` lists the specs of the non-ResNet backbones.
"""
