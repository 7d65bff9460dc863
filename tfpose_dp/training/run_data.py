"""What a run trains on: the private images as privacy units, the validation split, the public
set of PDP/GEP, the audit canaries, and the load report that stays under MODEL_DIR/private/."""

import dataclasses
import json
import os
from typing import Any, Optional

import numpy as np
from absl import logging

from tfpose_dp.data import image_check
from tfpose_dp.data.canaries import make_canaries
from tfpose_dp.privacy.image_units import group_by_image
from tfpose_dp.runs.layout import ensure_private_dir, private_dir, write_private_file
from tfpose_dp.runs.run_skeleton import run_skeleton
from tfpose_dp.training import datasets
from tfpose_dp.training.unit_keys import IMAGE, unit_keys, unit_salts

REPORT = "data_report.json"


@dataclasses.dataclass
class RunData:
    train: Any  # the private records (with the included canaries)
    val: Any
    public: Any
    description: str  # public: says nothing a secret coin or a skipped record decided
    units: Optional[list]  # record indices of each private unit; None without DP
    load_reports: list  # from the data without DP: private
    unit_salts: Optional[list] = None  # one per unit when units are named (capped per step)
    check_cache: Any = None  # the image checks (data/image_check.py): private

    @property
    def num_units(self):
        """N: private images (with every canary slot, included or not); records without DP."""
        return len(self.train) if self.units is None else len(self.units)


def load_run_data(config, key, slice_size, check_cache=None):
    """The run's data. An image keeps at most `slice_size` persons (one replica's slice).
    `check_cache`: where the image checks are cached (MODEL_DIR/private/; None: nowhere)."""
    with image_check.cached_in(check_cache) as cache:
        data = _load_run_data(config, key, slice_size)
    data.check_cache = cache  # saved by the run once it may write (nothing before that)
    return data


def _load_run_data(config, key, slice_size):
    d, pdp = config.data, config.pdp
    train, val, description = datasets.load_train_val(
        d.data_dir,
        d.synthetic_train,
        d.synthetic_val,
        d.synthetic_seed,
        d.synthetic_root,
        d.synthetic_domain,
        d.data_format,
        run_skeleton(config),
        d.annotation_files(),
    )
    reports = [r.load_report for r in (train, val) if r.load_report]
    public = None
    if pdp.uses_public_set():
        train, public = split_public_set(train, config)
    private = not config.privacy.nonprivate
    keys = unit_keys(train, d.privacy_unit) if private else None
    absent = 0
    if d.audit_canaries:  # after the public split: canaries are private records, never public
        canaries = make_canaries(d.audit_canaries, d.synthetic_root, d.synthetic_domain)
        included = canaries.subset(np.flatnonzero(key.audit_coins(d.audit_canaries)))
        train = train.concat(included)
        if keys is not None:  # each canary is a unit of its own
            keys = np.concatenate([keys, included.image_names()])
        absent = d.audit_canaries - len(included)
        description += f" + up to {d.audit_canaries} audit canaries (each by a secret coin)"
    units = salts = None
    if private:
        named = d.privacy_unit != IMAGE
        # An image keeps at most one slice of persons; a named unit is capped per step instead.
        units = group_by_image(keys, None if named else slice_size)
        salts = unit_salts([keys[u[0]] for u in units]) if named else None
        # A canary left out by its coin is an empty unit: N, q and delta do not reveal the
        # coins (sampling an empty unit adds nothing).
        units += [np.zeros(0, np.int64)] * absent
        salts = salts + [0] * absent if named else None
    return RunData(train, val, public, description, units, reports, salts)


def split_public_set(train, config):
    """(private, public) records of the training split as the run's flags define the public
    set (training/datasets.py split_public): the trainer's split, and the audit's."""
    d, pdp = config.data, config.pdp
    rate = datasets.holdout_rate(
        pdp.public_examples, pdp.public_fraction, d.own_data(), d.synthetic_train
    )
    named = d.privacy_unit != IMAGE
    return datasets.split_public(
        train,
        pdp.public_source,
        pdp.public_examples,
        config.optim.seed,
        pdp.public_annotations,
        holdout_fraction=rate,
        keypoints=run_skeleton(config),
        unit_keys=unit_keys(train, d.privacy_unit) if named else None,
    )


def write_load_report(model_dir, data):
    """The skipped-record counts go to MODEL_DIR/private/ only; the log says where, always."""
    folder = ensure_private_dir(model_dir)
    write_private_file(os.path.join(folder, REPORT), json.dumps(data.load_reports, indent=1))
    logging.info(
        "Records skipped at load (counts, from the data without DP) are in %s",
        os.path.join(private_dir(model_dir), REPORT),
    )
