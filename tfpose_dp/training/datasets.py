"""Which records a run trains on: MPII from --data_dir or the built-in synthetic set,
and, for PDP-SGD, the public set (disjoint from the private one, enforced)."""
import os

import numpy as np
from absl import logging

from tfpose_dp.data import annotations, synthetic


def load_train_val(data_dir, synthetic_train, synthetic_val, seed, synthetic_root=None):
    """Returns (train_records, val_records, description)."""
    if data_dir:
        train = annotations.load_split(data_dir, "train")
        val = annotations.load_split(data_dir, "valid")
        return train, val, f"MPII annotations from --data_dir={data_dir}"
    root = synthetic.ensure_synthetic_dataset(synthetic_train, synthetic_val, seed, synthetic_root)
    logging.info("No --data_dir given: training on the built-in synthetic people dataset "
                 "(%d train / %d val, seed %d) at %s", synthetic_train, synthetic_val, seed, root)
    train = annotations.load_split(root, "train")
    val = annotations.load_split(root, "valid")
    return train, val, f"built-in synthetic people ({synthetic_train} train / {synthetic_val} val)"


class PublicDataError(ValueError):
    """The public set for PDP-SGD overlaps the private set or cannot be built."""


def check_disjoint(private, public):
    """Refuses a public set that shares any person (image + centre) with the private set."""
    overlap = set(private.ids) & set(public.ids)
    if overlap:
        example = sorted(overlap)[0]
        raise PublicDataError(
            f"the public set shares {len(overlap)} person(s) with the private training set "
            f"(e.g. image {example[0]!r}): PDP's projection is free only when the public examples "
            "are not private. Use --public_source=holdout or an annotation file of other people.")


def split_public(train, public_source, public_examples, seed, public_annotations=None,
                 public_image_dir=None):
    """Returns (private_records, public_records).

    holdout: `public_examples` records drawn (seeded) from the training split and removed
    from it, so N for accounting is the private count. file: a separate annotation file,
    checked for disjointness.
    """
    if public_source == "holdout":
        if not 0 < public_examples < len(train):
            raise PublicDataError(
                f"--public_examples={public_examples} must be in [1, {len(train) - 1}] for a holdout "
                f"from {len(train)} training records")
        order = np.random.default_rng([seed, 0x9DB]).permutation(len(train))
        public, private = train.subset(np.sort(order[:public_examples])), train.subset(np.sort(order[public_examples:]))
    elif public_source == "file":
        if not public_annotations:
            raise PublicDataError("--public_source=file needs --public_annotations=PATH")
        image_dir = public_image_dir or os.path.dirname(os.path.abspath(public_annotations))
        public = annotations.load_records(public_annotations, image_dir)
        if len(public) > public_examples:
            order = np.random.default_rng([seed, 0x9DB]).permutation(len(public))
            public = public.subset(np.sort(order[:public_examples]))
        private = train
    else:
        raise PublicDataError(f"--public_source must be holdout or file, got {public_source!r}")
    check_disjoint(private, public)
    return private, public
