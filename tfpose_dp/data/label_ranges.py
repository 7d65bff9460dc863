"""Range checks on labels at load time, so that no record can fail only when it is sampled.

A finite but absurd label (a scale of 1e-38 or 1e38, a joint at 1e30 px) passes a finiteness
check and then makes its crop singular or its targets NaN inside tf.data, at the step that
samples it: the crash would reveal the secret draw. Every record's crop box, centre and joints
are therefore checked here, once, and a record is refused with a message naming the file and
the person unless all of them are finite and in range.

The range is what an image can hold: no JPEG or PNG side we read exceeds 65,535 px, so a
crop box is 1 px to twice that across, and centres and joints (labelled or not) lie within
twice that of the origin. In that range the crop matrix is invertible and every target finite
(tests/data/test_label_ranges.py builds the examples at both ends of it).
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
    return None


def describe_range():
    """The accepted range, for error messages."""
    return (
        f"a crop box 1-{_LIMIT:,.0f} px across (MPII: scale * 200 * {BOX_PADDING} px; COCO: "
        f"the bbox * {BOX_PADDING}), centres and joints within {_LIMIT:,.0f} px of the origin"
    )
