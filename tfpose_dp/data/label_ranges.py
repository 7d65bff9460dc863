"""Range checks on labels at load time, so that no record can fail only when it is sampled.

A finite but absurd label (a scale of 1e-38 or 1e38, a joint at 1e30 px) passes a finiteness
check and then makes its crop singular or its targets NaN inside tf.data, at the step that
samples it: the crash would reveal the secret draw. Every record's crop is therefore built
here, once, as the crop box and the matrix that maps its joints into the crop, and refused
with a message naming the file and the record unless all of it is finite and in range.

The range is what an image can hold: no JPEG or PNG side we read exceeds 65,535 px, so a
crop box is 1 px to twice that across, and centres and joints (labelled or not) lie within
twice that of the origin. In that range the crop matrix is invertible and every target finite.
"""

import numpy as np

from tfpose_dp.data.transforms import BOX_PADDING, record_crops

MAX_IMAGE_SIDE = 65535
_LIMIT = 2.0 * MAX_IMAGE_SIDE


def out_of_range(records):
    """(index of the first record whose crop cannot be built, what is wrong), or None."""
    centres, sizes = record_crops(records)
    side = np.max(sizes, axis=1)
    checks = (
        ("the crop box (from the scale or bbox)", side, (side >= 1.0) & (side <= _LIMIT)),
        ("the person centre", centres, np.all(np.abs(centres) <= _LIMIT, axis=1)),
        ("a joint", records.joints, np.all(np.abs(records.joints) <= _LIMIT, axis=(1, 2))),
    )
    for what, values, ok in checks:
        ok &= np.all(np.isfinite(values.reshape(len(side), -1)), axis=1)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            return i, f"{what} is {values[i].tolist()}"
    inverse = _crop_inverse(centres, side)
    mapped = np.einsum("nij,nkj->nki", inverse[:, :2, :2], records.joints) + inverse[:, None, :2, 2]
    bad = ~np.all(np.isfinite(mapped), axis=(1, 2))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        return i, "its joints do not map into the crop"
    return None


def _crop_inverse(centres, side):
    """Each record's image -> crop matrix for a unit crop (the scale a model's input size
    adds is a finite factor): (N, 3, 3), float64."""
    k = side.astype(np.float64)
    inverse = np.zeros((len(k), 3, 3))
    inverse[:, 0, 0] = inverse[:, 1, 1] = 1.0 / k
    inverse[:, :2, 2] = -centres / k[:, None]
    inverse[:, 2, 2] = 1.0
    return inverse


def describe_range():
    """The accepted range, for error messages."""
    return (
        f"a crop box {1}-{_LIMIT:,.0f} px across (MPII: scale * 200 * {BOX_PADDING} px; COCO: "
        f"the bbox * {BOX_PADDING}), centres and joints within {_LIMIT:,.0f} px of the origin"
    )
