"""Video method recipes of the AG-VPReID 2025 challenge: TF-CLIP (baseline), X-TFCLIP,
TFCLIP-AG-VPReID and ACP-VPReID, all built on :mod:`agreid_video.methods.clip_video_net`."""
