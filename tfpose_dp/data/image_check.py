"""Which image files decode, so a corrupt image is a counted skip at load time, not an error
mid-epoch.

Every file is decoded once (JPEGs at 1/8 scale: the entropy decoder still reads every byte, at
a fraction of the cost) in a parallel tf.data pass. The results name private images (path,
size, modification time, whether it decodes), so they are cached only inside a training run's
MODEL_DIR/private/ (`cached_in`), per file by size and modification time: a resumed run only
checks new or changed files. Anywhere else nothing is kept.
"""

import contextlib
import json
import os

import tensorflow as tf
from absl import logging

from tfpose_dp.data.decode import decode_image
from tfpose_dp.runs.layout import write_private_file

CACHE_FILE = "image_checks.json"
_caches = []  # the cache of the innermost `cached_in` block


class CheckCache:
    """Checks by path: [size, mtime_ns, decodes], read from `folder`/image_checks.json when it
    exists; `save` writes them back (0600) once the folder exists: a run refused before it
    writes anything leaves no cache behind."""

    def __init__(self, folder):
        self.path = os.path.join(folder, CACHE_FILE) if folder else None
        self.entries, self.changed = {}, False
        if self.path is not None:
            try:
                with open(self.path) as f:
                    self.entries = json.load(f)
            except (OSError, ValueError):
                pass

    def save(self):
        if self.path is None or not self.changed or not os.path.isdir(os.path.dirname(self.path)):
            return
        try:
            write_private_file(self.path, json.dumps(self.entries))
            self.changed = False
        except OSError as e:  # a read-only folder only costs a re-check next time
            logging.warning("could not cache image checks in %s: %s", self.path, e)


@contextlib.contextmanager
def cached_in(folder):
    """Image checks inside the block use the cache of `folder` (a run's MODEL_DIR/private/;
    None: none); yields the CheckCache, whose `save` the run calls once it may write."""
    cache = CheckCache(folder)
    _caches.append(cache)
    try:
        yield cache
    finally:
        _caches.pop()


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
    holder = _caches[-1] if _caches else CheckCache(None)
    cache = holder.entries
    stamps = {p: _stamp(p) for p in paths}
    todo = [p for p in paths if stamps[p] is not None and cache.get(p, [None])[:2] != stamps[p]]
    if todo:
        if len(todo) > 1000:
            logging.info(
                "checking that %d images decode%s",
                len(todo),
                " (once: cached in MODEL_DIR/private/)" if holder.path else "",
            )
        ok = _decodes(todo)
        for p in todo:
            cache[p] = stamps[p] + [p in ok]
        holder.changed = True
    return {p for p in paths if stamps[p] is None or not cache[p][2]}
