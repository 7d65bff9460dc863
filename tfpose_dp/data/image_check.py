"""Which image files decode, so a corrupt image is a counted skip at load time, not an error
mid-epoch.

Every file is decoded once (JPEGs at 1/8 scale: the entropy decoder still reads every byte, at
a fraction of the cost) in a parallel tf.data pass; results are cached per file by size and
modification time under the cache root, so later runs only check new or changed files.
"""

import hashlib
import json
import os
import tempfile

import tensorflow as tf
from absl import logging

from tfpose_dp.data.cache_root import cache_root
from tfpose_dp.data.decode import decode_image


def _cache_file(paths):
    folder = os.path.dirname(os.path.abspath(paths[0])) if paths else ""
    key = hashlib.sha1(folder.encode()).hexdigest()[:16]
    return os.path.join(cache_root(), "image_checks", f"{key}.json")


def _stamp(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _decodes(paths):
    """The subset of `paths` that decode (one parallel pass; failures are dropped, not raised)."""
    ds = tf.data.Dataset.from_tensor_slices(list(paths))
    ds = ds.map(
        lambda p: (p, tf.shape(decode_image(tf.io.read_file(p), ratio=8))[0]),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=False,
    )
    ds = ds.ignore_errors()
    return {p.decode() for p, _ in ds.as_numpy_iterator()}


def bytes_decode(raw):
    """True when encoded image bytes decode (eager; for images that are not files, e.g. in a
    tarball)."""
    try:
        decode_image(tf.constant(raw), ratio=8)
        return True
    except (tf.errors.InvalidArgumentError, ValueError):
        return False


def undecodable_images(paths):
    """Set of the given paths that are missing or do not decode as JPEG/PNG."""
    paths = sorted(set(paths))
    if not paths:
        return set()
    cache_path = _cache_file(paths)
    try:
        with open(cache_path) as f:
            cache = json.load(f)
    except (OSError, ValueError):
        cache = {}
    stamps = {p: _stamp(p) for p in paths}
    todo = [p for p in paths if stamps[p] is not None and cache.get(p, [None])[:2] != stamps[p]]
    if todo:
        if len(todo) > 1000:
            logging.info(
                "checking that %d images decode (once; cached in %s)", len(todo), cache_path
            )
        ok = _decodes(todo)
        for p in todo:
            cache[p] = stamps[p] + [p in ok]
        _write_atomically(cache_path, cache)
    return {p for p in paths if stamps[p] is None or not cache[p][2]}


def _write_atomically(path, data):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except OSError as e:  # a read-only cache only costs a re-check next time
        logging.warning("could not cache image checks in %s: %s", path, e)
