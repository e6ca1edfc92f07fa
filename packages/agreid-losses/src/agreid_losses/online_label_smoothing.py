"""Online Label Smoothing (Zhang et al., "Delving Deep into Label Smoothing", TIP 2021; card L-OLS).

A K×K soft-label matrix S holds in column y the soft target of class y (every column sums to 1)::

    L = α · CE(p, y) + (1 − α) · (−Σ_j S[j, y] · log p_j),     p = softmax(logits), mean over B

S is used as it stood at the end of the previous epoch. Initialisation:

- ``"smoothed"`` (default, X-TFCLIP's first epoch): S[y, y] = 1 − ε, S[j, y] = ε / (K − 1);
- ``"uniform"``: S[j, y] = 1 / K.

While the module is in training mode, every forward adds (without gradient) the softmax vector of
each *correctly classified* sample (argmax = y) to column y of an accumulator and counts it.
``on_epoch_end(epoch)`` sets column y of S to the mean accumulated softmax vector of class y and
resets the accumulator; a class with no correctly classified sample in the epoch keeps its
previous column. S, the accumulator and the counts are buffers, so they are checkpointed.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_losses._checks import check_class_range, check_labels

SoftInit = Literal["smoothed", "uniform"]


def initial_soft_labels(num_classes: int, epsilon: float, init: SoftInit) -> Tensor:
    """The K×K initial soft-label matrix S (column y = soft target of class y)."""
    k = num_classes
    if init == "uniform":
        return torch.full((k, k), 1.0 / k)
    off = epsilon / (k - 1) if k > 1 else 0.0
    s = torch.full((k, k), off)
    s.fill_diagonal_(1.0 - epsilon if k > 1 else 1.0)
    return s


class OnlineLabelSmoothing(nn.Module):
    """α·CE + (1−α)·soft-CE against S[:, y]; S re-estimated from correct predictions each epoch.

    ``forward(inputs, targets)`` takes logits (B, K) and labels (B,). Call ``on_epoch_end(epoch)``
    after every epoch (the trainer does) to move the accumulated statistics into S.
    """

    soft_labels: Tensor
    accumulated: Tensor
    counts: Tensor

    def __init__(
        self,
        num_classes: int,
        alpha: float = 0.5,
        epsilon: float = 0.1,
        init: SoftInit = "smoothed",
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
        if init not in ("smoothed", "uniform"):
            raise ValueError(f"init must be 'smoothed' or 'uniform', got {init!r}")
        self.num_classes = num_classes
        self.alpha = float(alpha)
        self.epsilon = float(epsilon)
        self.init: SoftInit = init
        self.register_buffer("soft_labels", initial_soft_labels(num_classes, epsilon, init))
        self.register_buffer("accumulated", torch.zeros(num_classes, num_classes))
        self.register_buffer("counts", torch.zeros(num_classes))

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Scalar loss of logits ``inputs`` (B, K) against labels ``targets`` (B,)."""
        name = type(self).__name__
        check_labels(inputs, targets, name=name)
        if inputs.shape[1] != self.num_classes:
            raise ValueError(f"{name}: expected {self.num_classes} logits, got {inputs.shape[1]}")
        check_class_range(targets, self.num_classes, name=name)
        log_probs = F.log_softmax(inputs, dim=1)
        hard = -log_probs.gather(1, targets.unsqueeze(1)).squeeze(1)
        soft_targets = self.soft_labels.t()[targets].to(log_probs.dtype)  # row b = S[:, y_b]
        soft = -(soft_targets * log_probs).sum(dim=1)
        if self.training:
            self._accumulate(inputs.detach(), targets)
        return (self.alpha * hard + (1.0 - self.alpha) * soft).mean()

    @torch.no_grad()
    def _accumulate(self, logits: Tensor, targets: Tensor) -> None:
        probs = logits.softmax(dim=1)
        correct = probs.argmax(dim=1) == targets
        if not bool(correct.any()):
            return
        y = targets[correct]
        # accumulated[:, y_b] += p_b  ⇔  accumulated.t()[y_b] += p_b
        acc_t = torch.zeros_like(self.accumulated)
        acc_t.index_add_(0, y, probs[correct].to(acc_t.dtype))
        self.accumulated += acc_t.t()
        self.counts += torch.bincount(y, minlength=self.num_classes).to(self.counts.dtype)

    @torch.no_grad()
    def on_epoch_end(self, epoch: int) -> None:
        """Set S[:, y] to the mean accumulated softmax of class y (if any), then reset."""
        seen = self.counts > 0
        if bool(seen.any()):
            means = self.accumulated[:, seen] / self.counts[seen]
            self.soft_labels[:, seen] = means.to(self.soft_labels.dtype)
        self.accumulated.zero_()
        self.counts.zero_()

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, alpha={self.alpha}, epsilon={self.epsilon}, "
            f"init={self.init!r}"
        )
