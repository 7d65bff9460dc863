"""Which records a run trains on: MPII from --data_dir or the built-in synthetic set,
and, for PDP-SGD, the public set.

Splits are by image, never by person: a crop (box x1.25) shows every person near the box, so
a public person's image may not hold a private person, and validation images (scored without
DP) may not hold training persons. Both are enforced."""

import hashlib

import numpy as np
from absl import logging

from tfpose_dp.data import annotations, synthetic
from tfpose_dp.data.synthetic_coco import ensure_synthetic_coco
from tfpose_dp.training.unit_keys import with_builtin_patients


def load_train_val(
    data_dir,
    synthetic_train,
    synthetic_val,
    seed,
    synthetic_root=None,
    synthetic_domain="public",
    data_format="mpii",
    keypoints="mpii16",
    files=None,
):
    """Returns (train_records, val_records, description). `data_format`: of --data_dir, or the
    form the built-in people are written in; `keypoints`: the joints the model predicts;
    `files`: (train annotation file, val annotation file, image folder or None), each file's
    format told from its content."""
    if data_dir or files:
        if files:
            train_file, val_file, image_dir = files
            train = annotations.load_annotation_file(train_file, image_dir, keypoints)
            val = annotations.load_annotation_file(val_file, image_dir, keypoints)
            description = f"annotation files {train_file} (train) and {val_file} (val)"
        else:
            train = annotations.load_split(data_dir, "train", data_format, keypoints)
            val = annotations.load_split(data_dir, "valid", data_format, keypoints)
            description = f"{data_format.upper()} annotations from --data_dir={data_dir}"
        check_disjoint_images(
            train,
            val,
            "validation split",
            "Split train and valid by image "
            "(tools/convert_mpii_mat.py does) so that validation persons stay out of training.",
        )
        return train, val, description
    write = ensure_synthetic_coco if data_format == "coco" else synthetic.ensure_synthetic_dataset
    root = write(synthetic_train, synthetic_val, seed, synthetic_root, synthetic_domain)
    logging.info(
        "No --data_dir given: training on the built-in synthetic people dataset, %s domain "
        "(%d train / %d val, seed %d) at %s",
        synthetic_domain,
        synthetic_train,
        synthetic_val,
        seed,
        root,
    )
    train = with_builtin_patients(annotations.load_split(root, "train", data_format, keypoints))
    val = with_builtin_patients(annotations.load_split(root, "valid", data_format, keypoints))
    return (
        train,
        val,
        (
            f"built-in synthetic people, {synthetic_domain} domain ({synthetic_train} train / "
            f"{synthetic_val} val{', COCO format' if data_format == 'coco' else ''})"
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


# Held out per image when --public_fraction is unset and the data are the user's own: the
# rate must be a setting, not a function of the data, or one image could move every other.
DEFAULT_PUBLIC_FRACTION = 0.01


def holdout_rate(public_examples, public_fraction, own_data, synthetic_train):
    """The probability that an image is held out, from the flags alone (never from the data:
    the built-in set's size is a flag). The synthetic default expects public_examples + 5 sd
    persons (one per image), so the holdout nearly always holds enough."""
    if public_fraction is not None:
        return public_fraction
    if own_data:
        return DEFAULT_PUBLIC_FRACTION
    m = public_examples
    return min(1.0, (m + 5 * np.sqrt(m) + 5) / synthetic_train)


def image_draw(name, seed):
    """A number in [0, 1) that depends on this image's name and the seed alone."""
    digest = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def _holdout_indices(train, rate, seed, unit_keys=None):
    """Indices of the persons of held-out images, in the order of their image's draw: each
    image is held out by its own draw against `rate`, so adding or removing one image changes
    the holdout by that image alone (the private set of neighbouring data sets stays
    neighbouring). `unit_keys` (per record): whole named units are held out instead."""
    names = train.image_names() if unit_keys is None else np.asarray(unit_keys)
    draws = {name: image_draw(name, seed) for name in np.unique(names)}
    held = [i for i, name in enumerate(names) if draws[name] < rate]
    return np.array(sorted(held, key=lambda i: (draws[names[i]], i)), dtype=np.int64)


def split_public(
    train,
    public_source,
    public_examples,
    seed,
    public_annotations=None,
    public_image_dir=None,
    holdout_fraction=None,
    keypoints="mpii16",
    unit_keys=None,
):
    """Returns (private_records, public_records), disjoint by image.

    holdout: each training image is held out when its own keyed draw falls below
    `holdout_fraction` (see `holdout_rate`); every person of a held-out image leaves the
    private set (N for accounting is what remains) and the first `public_examples` of them, in
    draw order, form the public set. file: a separate annotation file, refused if it shares an
    image with the private set.
    """
    if public_source == "holdout":
        if holdout_fraction is None or not 0 < holdout_fraction < 1:
            raise PublicDataError(
                f"the holdout fraction must be in (0, 1), got {holdout_fraction}: set "
                "--public_fraction (the share of training images held out as public)"
            )
        held = _holdout_indices(train, holdout_fraction, seed, unit_keys)
        if len(held) < public_examples:
            # Depends on the held-out (public) images alone: a private image cannot move it.
            raise PublicDataError(
                f"holding out images at --public_fraction={holdout_fraction:.4g} gave "
                f"{len(held)} public persons, fewer than --public_examples={public_examples}: "
                "raise --public_fraction or lower --public_examples"
            )
        private = train.subset(np.setdiff1d(np.arange(len(train)), held))
        public = train.subset(held[:public_examples])
        if not len(private):
            raise PublicDataError(
                f"--public_fraction={holdout_fraction:.4g} holds out every training image"
            )
        logging.info(
            "PDP holdout (--public_fraction=%.4g): %d persons of %d whole images leave the "
            "private set; the first %d of them form the public set",
            holdout_fraction,
            len(held),
            len(np.unique(train.image_names()[held])),
            public_examples,
        )
    elif public_source == "file":
        if not public_annotations:
            raise PublicDataError("--public_source=file needs --public_annotations=PATH")
        public = annotations.load_annotation_file(public_annotations, public_image_dir, keypoints)
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
