"""The run configuration's public-data section (manifest key "pdp"): the public set of a
private run and what the run does with it (PDP/GEP subspace, the public fine-tuning stage, the
clean public gradient mixed into each private step). Nothing here is covered by the DP
guarantee: the public set must be public."""

import dataclasses
import math
from typing import Optional

from tfpose_dp.config_setting import setting


@dataclasses.dataclass
class PdpConfig:
    projection: str = setting(
        "none",
        "pdp: PDP-SGD projection of the noisy gradient onto the top-k eigenspace of public "
        "per-example gradients; gep: gradient embedding perturbation (the same subspace, the "
        "residual kept with its own clip --gep_residual_clip). When it pays (measured, "
        "docs/results.md): in the high-noise regime (2,000 private images at eps 0.2 it "
        "beats DP-SGD, and wins after a public stage with --public_mix: "
        "flags/finetune_small.cfg); with 16,000 DP-SGD after a public stage wins (ties with "
        "TinyViT-5M's last stage, p = 2.65M).",
        ("none", "pdp", "gep"),
        fixed=True,
    )
    gep_residual_clip: float = setting(
        0.1,
        "GEP: clip norm C2 of each per-example gradient's residual outside the public "
        "subspace (--l2_norm_clip clips its coordinates in it).",
        fixed=True,
        above=0,
    )
    projection_dim: int = setting(10, "PDP: subspace dimension k.", at_least=1)
    public_examples: int = setting(100, "PDP: number m of public examples.", fixed=True, at_least=1)
    public_fraction: Optional[float] = setting(
        None,
        "PDP holdout: share of training images held out as public, each by its own keyed draw "
        "(default: m + 5 sd persons' worth of the synthetic set; 0.01 with --data_dir).",
        fixed=True,
    )
    public_source: str = setting(
        "holdout",
        "PDP: hold whole images out of the training split, or read --public_annotations.",
        ("holdout", "file"),
        fixed=True,
    )
    public_annotations: Optional[str] = setting(
        None,
        "PDP: annotation JSON of public persons, MPII's list or a COCO keypoints file "
        "(detected; images beside the file, or in its ../images or ../val2017 for COCO's layout).",
        fixed=True,
    )
    clip_public_gradients: bool = setting(
        True,
        "PDP: clip the public per-example gradients to --l2_norm_clip before the "
        "eigendecomposition, as the private ones are clipped.",
    )
    basis_refresh_steps: int = setting(
        20,
        "PDP: recompute the subspace every s steps (20: measured better than 100 on every "
        "seed, docs/results.md 'How often to refresh the PDP basis'; its cost is a refresh's m "
        "per-example gradients every s steps, m/(B s) = 31 % of the gradients at the "
        "defaults: accepted; 100 meets PDP's +10 % over DP at the paper's setting, "
        "docs/speed.md). Each refresh logs the public "
        "gradient energy share of the new basis and of the s-step-old one it replaces "
        "(tools/refresh_table.py tabulates them).",
        at_least=1,
    )
    projection_start_epoch: float = setting(
        0.0, "PDP: epoch at which projection starts.", at_least=0
    )
    max_basis_gb: float = setting(
        12.0,
        "PDP: refuse a run whose basis refresh would hold more than this many GB: the basis, "
        "4 max(k, m) p bytes, written in place of the public gradients, and one chunk of them "
        "(the memory plan printed before training; the runtime adds ~10-25 %, docs/speed.md).",
        above=0,
    )
    pdp_diagnostics: bool = setting(
        False,
        "PDP: log the share of the clean clipped private gradient's energy inside the public "
        "subspace, the share of the noise's, and both signal-to-noise ratios. NON-PRIVATE (reads "
        "private gradients without DP): written under MODEL_DIR/private/ only.",
    )
    public_finetune_steps: int = setting(
        -1,
        "Before the private steps: this many NON-PRIVATE steps of fine-tuning on the public set "
        "alone (augmented, --public_batch_size, Adam at --public_learning_rate): the public "
        "data used in full, and the bar the private steps must clear (final_metrics.json "
        "public_stage_pckh@0.5). The public set is held out of the training split as for PDP. "
        "-1 (auto): 250 when the run starts from a model (--init_from) and has a public set "
        "without asking (the built-in people, or one you declared), else 0.",
        fixed=True,
        at_least=-1,
    )
    public_batch_size: int = setting(
        32, "Public stage and --public_mix: expected public examples per step.", at_least=1
    )
    public_learning_rate: float = setting(
        1e-3, "Public stage: Adam's learning rate.", fixed=True, above=0
    )
    public_mix: str = setting(
        "auto",
        "Each private step's update: alpha_t x the noisy private gradient + (1 - alpha_t) x "
        "the clean mean gradient of a public batch (PDA-DPMD's practical form, Amid et al. "
        "2022). cosine: alpha_t = cos(pi t / 2T); constant:W: the public gradient weighted W "
        "(alpha_t = 1 - W); none: the private gradient alone; auto: constant:0.3 in a PDP/GEP "
        "run with the auto public stage (the main command's pipeline), else none.",
        fixed=True,
    )

    def uses_public_batches(self):
        """Whether the run trains on public batches (the public stage or --public_mix). Of a
        config whose autos are not yet resolved (default_start.py): only what it says."""
        return self.public_finetune_steps > 0 or self.public_mix not in ("none", "auto")

    def uses_public_set(self):
        """Whether the run holds a public set out of (or beside) the private one."""
        return self.projection != "none" or self.uses_public_batches()

    def public_set_source(self, own_data):
        """Where the public set comes from, for the statement and the manifest (None: the run
        has none). `own_data`: the run reads the user's data, not the built-in people."""
        if not self.uses_public_set():
            return None
        if self.public_source == "file":
            return f"{self.public_annotations} (--public_annotations: declared public by the user)"
        if own_data:
            share = f"{self.public_fraction:g}" if self.public_fraction is not None else "0.01"
            return (
                f"images of the user's own training data held out at --public_fraction={share}: "
                "used WITHOUT privacy protection, as the flag declares"
            )
        return "people held out of the built-in synthetic set (public by construction)"


def constant_weight(mix):
    """W of --public_mix=constant:W when W is a number in [0, 1), else None."""
    name, _, value = mix.partition(":")
    try:
        weight = float(value)
    except ValueError:
        return None
    return weight if name == "constant" and 0 <= weight < 1 else None


def public_weight(mix, step, total_steps):
    """1 - alpha_t: the clean public gradient's weight in the update of step `step` (0-based)
    of `total_steps` under --public_mix (cosine: alpha_t = cos(pi t / 2T), 1 at the start)."""
    if mix == "none":
        return 0.0
    if mix == "cosine":
        return 1.0 - math.cos(math.pi * step / (2 * total_steps))
    weight = constant_weight(mix)
    if weight is None:
        raise ValueError(f"--public_mix={mix!r} must be none, cosine or constant:W, 0 <= W < 1")
    return weight
