"""Which records a run trains on: MPII from --data_dir or the built-in synthetic set,
and, for PDP-SGD, the public set.

Splits are by image, never by person: a crop (box x1.25) shows every person near the box, so
a public person's image may not hold a private person, and validation images (scored without
DP) may not hold training persons. Both are enforced."""

import os

import numpy as np
from absl import logging

from tfpose_dp.data import annotations, synthetic


def load_train_val(
    data_dir, synthetic_train, synthetic_val, seed, synthetic_root=None, synthetic_domain="public"
):
    """Returns (train_records, val_records, description)."""
    if data_dir:
        train = annotations.load_split(data_dir, "train")
        val = annotations.load_split(data_dir, "valid")
        check_disjoint_images(
            train,
            val,
            "validation split",
            "Split train and valid by image "
            "(tools/convert_mpii_mat.py does) so that validation persons stay out of training.",
        )
        return train, val, f"MPII annotations from --data_dir={data_dir}"
    root = synthetic.ensure_synthetic_dataset(
        synthetic_train, synthetic_val, seed, synthetic_root, synthetic_domain
    )
    logging.info(
        "No --data_dir given: training on the built-in synthetic people dataset, %s domain "
        "(%d train / %d val, seed %d) at %s",
        synthetic_domain,
        synthetic_train,
        synthetic_val,
        seed,
        root,
    )
    train = annotations.load_split(root, "train")
    val = annotations.load_split(root, "valid")
    return (
        train,
        val,
        (
            f"built-in synthetic people, {synthetic_domain} domain ({synthetic_train} train / "
            f"{synthetic_val} val)"
        ),
    )


class SplitOverlapError(ValueError):
    """Two sets that must not share an image do; the message names one."""


def check_disjoint_images(private, other, what, advice, error=SplitOverlapError):
    """Refuses `other` when any of its images also holds a private (training) person."""
    shared = sorted(set(private.image_names()) & set(other.image_names()))
    if shared:
        raise error(
            f"the {what} shares {len(shared)} image(s) with the private training set, e.g. "
            f"{shared[0]!r}: a crop of one person shows the others in the same image. {advice}"
        )


class PublicDataError(SplitOverlapError):
    """The public set for PDP-SGD overlaps the private set or cannot be built."""


def _holdout_images(train, public_examples, seed):
    """Indices of whole images, in a seeded order, until they hold >= public_examples persons."""
    names = train.image_names()
    images = np.unique(names)
    order = np.random.default_rng([seed, 0x9DB]).permutation(len(images))
    chosen, count = set(), 0
    persons = {name: 0 for name in images}
    for name in names:
        persons[name] += 1
    for i in order:
        if count >= public_examples:
            break
        chosen.add(images[i])
        count += persons[images[i]]
    return np.flatnonzero(np.isin(names, list(chosen)))


def split_public(
    train, public_source, public_examples, seed, public_annotations=None, public_image_dir=None
):
    """Returns (private_records, public_records), disjoint by image.

    holdout: whole images drawn (seeded: public) from the training split until they hold
    `public_examples` persons; every person of those images leaves the private set (N for
    accounting is the private count that remains) and the first `public_examples` of them form
    the public set. file: a separate annotation file, refused if it shares an image with the
    private set.
    """
    if public_source == "holdout":
        if not 0 < public_examples < len(train):
            raise PublicDataError(
                f"--public_examples={public_examples} must be in [1, {len(train) - 1}] for a "
                "holdout "
                f"from {len(train)} training records"
            )
        held = _holdout_images(train, public_examples, seed)
        private = train.subset(np.setdiff1d(np.arange(len(train)), held))
        public = train.subset(held[:public_examples])
        if not len(private):
            raise PublicDataError(f"--public_examples={public_examples} takes every training image")
        if len(held) > public_examples:
            logging.info(
                "PDP holdout: %d persons of %d whole images leave the private set; %d of them "
                "form the public set",
                len(held),
                len(np.unique(train.image_names()[held])),
                public_examples,
            )
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
    check_disjoint_images(
        private,
        public,
        "public set",
        "PDP's projection is free only when no public image holds a private person: "
        "use --public_source=holdout or an annotation file of other images.",
        PublicDataError,
    )
    return private, public
