"""The privacy unit is one image, with every person in it.

A person crop (box x1.25) shows the people near it, so a guarantee per person would not
protect a person from the crops of their neighbours. The sampler therefore draws images, and
the persons of one image sit in consecutive slots of one replica's slice of a chunk, tagged
with the same *group* (the slot of the image's first person): clipping sums a group's
per-person gradients and clips that sum to C (privacy/clipping.py), so one image moves the
clipped sum by at most C.

An image with more persons than a slice holds keeps its first `slice_size` persons: a rule
applied to each image alone, from the flags, so it costs the guarantee nothing.

>>> units = group_by_image(np.array(["a", "b", "a", "c", "a"]), cap=2)
>>> [u.tolist() for u in units]
[[0, 2], [1], [3]]
>>> persons, groups = pack([units[1], units[0], units[2]], slice_size=3, replicas=1)
>>> persons.tolist(), groups.tolist()
([[1, 0, 2], [3, -1, -1]], [[0, 1, 1], [0, -1, -1]])
"""

import numpy as np

PAD = -1


def group_by_image(image_names, cap=None):
    """Record indices of each image (or of each unit, given unit keys), in order of their first
    record, at most `cap` records each (the first ones; None: all)."""
    names = np.asarray(image_names)
    _, first, inverse = np.unique(names, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # image ids by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    units = [[] for _ in order]
    for i, image in enumerate(rank[inverse.reshape(-1)]):
        if cap is None or len(units[image]) < cap:
            units[image].append(i)
    return [np.asarray(u, np.int64) for u in units]


def pack(members, slice_size, replicas):
    """Places each unit's records in consecutive slots of one slice; a unit that does not fit
    in what is left of a slice starts the next. Returns (persons, groups), both
    (num_chunks, replicas * slice_size): record index and group (the slice-local slot of the
    unit's first record), PAD in empty slots."""
    placed, slice_no, pos = [], 0, 0
    for unit in members:
        if len(unit) > slice_size:
            raise ValueError(f"a unit of {len(unit)} records exceeds the slice of {slice_size}")
        if pos + len(unit) > slice_size:
            slice_no, pos = slice_no + 1, 0
        placed.append((slice_no, pos, unit))
        pos += len(unit)
    num_slices = slice_no + 1 if pos else slice_no  # an empty unit takes no slot
    num_chunks = -(-num_slices // replicas)
    persons = np.full((num_chunks * replicas, slice_size), PAD, np.int64)
    groups = np.full((num_chunks * replicas, slice_size), PAD, np.int64)
    for slice_no, pos, unit in placed:
        persons[slice_no, pos : pos + len(unit)] = unit
        groups[slice_no, pos : pos + len(unit)] = pos
    width = replicas * slice_size
    return persons.reshape(num_chunks, width), groups.reshape(num_chunks, width)
