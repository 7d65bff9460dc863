"""Membership inference by loss threshold: per-example losses of a trained pose model, and how
well they separate members from non-members (ROC AUC, TPR at a low FPR).

TF Privacy 0.9.0 ships a membership_inference_attack package whose modules import a
`privacy_tests` package missing from its wheel, so the threshold attack is computed here.

>>> round(roc_auc([0.9, 0.8, 0.7], [0.1, 0.2, 0.75]), 4)  # scores: higher = "member"
0.8889
"""

import numpy as np

from tfpose_dp.data.pipeline import eval_dataset
from tfpose_dp.models.simcc import simcc_per_example_loss


def per_example_losses(model, records, codec, batch_size=64):
    """The SimCC loss of every record under `model` (its labels, unaugmented crops)."""
    losses = []
    for batch in eval_dataset(records, codec.input_size, codec, batch_size):
        out = model(batch["image"], training=False)
        loss = simcc_per_example_loss(
            batch["target_x"],
            batch["target_y"],
            batch["target_weight"],
            out["simcc_x"],
            out["simcc_y"],
        )
        losses.append(loss.numpy()[batch["mask"].numpy() > 0])
    return np.concatenate(losses)


def roc_auc(member_scores, nonmember_scores):
    """P[score(member) > score(non-member)] (ties count half): the attack's ROC AUC."""
    a, b = np.asarray(member_scores, np.float64), np.asarray(nonmember_scores, np.float64)
    both = np.concatenate([a, b])
    ranks = np.empty(len(both))
    order = np.argsort(both, kind="mergesort")
    ranks[order] = np.arange(1, len(both) + 1)
    for value in np.unique(both):  # average ranks of ties
        tied = both == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[: len(a)].sum() - len(a) * (len(a) + 1) / 2) / (len(a) * len(b)))


def tpr_at_fpr(member_scores, nonmember_scores, fpr):
    """Share of members caught by the threshold that flags at most `fpr` of non-members."""
    b = np.sort(np.asarray(nonmember_scores, np.float64))[::-1]
    allowed = int(np.floor(fpr * len(b)))
    threshold = b[allowed] if allowed < len(b) else -np.inf  # flag scores strictly above it
    return float(np.mean(np.asarray(member_scores) > threshold))


def attack_summary(member_losses, nonmember_losses):
    """Loss-threshold attack: lower loss = member."""
    members, others = -np.asarray(member_losses), -np.asarray(nonmember_losses)
    return {
        "auc": roc_auc(members, others),
        "tpr_at_0.1pct_fpr": tpr_at_fpr(members, others, 0.001),
        "tpr_at_1pct_fpr": tpr_at_fpr(members, others, 0.01),
        "members": len(members),
        "nonmembers": len(others),
    }
