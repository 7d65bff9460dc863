"""Which records form one unit of privacy: an image (every person in it), or all the images
that share the value of an annotation field the user names (--privacy_unit=patient_id: one
patient in all their frames; video_id: one video).

A person crop shows the people near it, so a unit must hold whole images: the persons of one
image carrying different values are refused. The built-in people carry `patient_id`, four
consecutive images per patient (drawn independently: enough to exercise the units).
"""

import hashlib
import os

import numpy as np

from tfpose_dp.privacy.plan import UNIT_OF_PRIVACY

IMAGE = "image"
BUILTIN_FIELD = "patient_id"
BUILTIN_FRAMES_PER_PATIENT = 4


class UnitError(ValueError):
    """The records cannot be grouped into the named units; the message says why."""


def unit_keys(records, privacy_unit):
    """(N,) str: each record's unit (its image name for `image`, else `FIELD=value`)."""
    names = records.image_names()
    if privacy_unit == IMAGE:
        return names
    keys, of_image = [], {}
    for name, fields in zip(names, records.record_attributes()):
        if privacy_unit not in fields:
            raise UnitError(
                f"--privacy_unit={privacy_unit}: a person in {name} has no {privacy_unit!r} "
                "field; every training annotation needs one (COCO: on the annotation or its "
                "image; MPII JSON: on the record), or use --privacy_unit=image"
            )
        key = f"{privacy_unit}={fields[privacy_unit]}"
        if of_image.setdefault(name, key) != key:
            raise UnitError(
                f"--privacy_unit={privacy_unit}: the persons of {name} belong to "
                f"{of_image[name]} and {key}; a crop shows its neighbours, so one image must "
                "belong to one unit (merge them, or use --privacy_unit=image)"
            )
        keys.append(key)
    return np.array(keys)


def unit_salts(keys_of_units):
    """A 64-bit number per unit from its key alone: seeds that unit's own per-step draws (which
    records a capped unit contributes), independent of every other unit."""
    return [
        int.from_bytes(hashlib.blake2b(str(k).encode(), digest_size=8).digest(), "big") >> 1
        for k in keys_of_units
    ]


def with_builtin_patients(records):
    """The built-in people with their patient_id: image k's index // 4."""
    records.attributes = [
        {**fields, BUILTIN_FIELD: int(os.path.splitext(name)[0]) // BUILTIN_FRAMES_PER_PATIENT}
        for fields, name in zip(records.record_attributes(), records.image_names())
    ]
    return records


def describe(privacy_unit):
    """The unit as the statement, manifest and exports name it."""
    if privacy_unit == IMAGE:
        return UNIT_OF_PRIVACY
    return f"one {privacy_unit} (all its images, all persons in them)"
