"""Person records of the `tfds_mpii` TFDS build, with the build's random-access images."""

import json

import numpy as np

from tfpose_dp.data.annotations import AnnotationError, records_from_list

SPLIT_NAMES = {"train": "train", "valid": "validation"}


def load_tfds_split(tfds_data_dir, split):
    """PoseRecords of `split` ('train' | 'valid'); images are read from the build by index."""
    import tensorflow_datasets as tfds

    # Importing the builder registers it with TFDS.
    from tfpose_dp.data.tfds_mpii import tfds_mpii_dataset_builder  # noqa: F401

    name = SPLIT_NAMES[split]
    try:
        builder = tfds.builder("tfds_mpii", data_dir=tfds_data_dir)
        raw = json.loads(builder.info.metadata[name])
    except (tfds.core.registered.DatasetNotFoundError, AssertionError, KeyError, OSError) as e:
        raise AnnotationError(
            f"no built tfds_mpii in {tfds_data_dir or '~/tensorflow_datasets'} ({e}); build it "
            "with "
            "`python -m tfpose_dp.data.tfds_mpii --manual_dir=... [--data_dir=...]`"
        ) from e
    try:
        source = builder.as_data_source(name, decoders={"image": tfds.decode.SkipDecoding()})
    except (NotImplementedError, ValueError) as e:
        raise AnnotationError(
            f"tfds_mpii in {builder.data_dir} is not in a random-access format ({e}); rebuild it "
            "with "
            "--file_format=array_record (the Poisson sampler reads persons by index)"
        ) from e
    records = records_from_list(raw, f"tfds_mpii/{name}", image_dir="", check_files=False)
    if len(records) != len(source):
        raise AnnotationError(
            f"tfds_mpii/{name}: {len(records)} records in the metadata but "
            f"{len(source)} examples; rebuild the dataset"
        )
    records.image_source = _ImageBytes(source)
    records.source_index = np.arange(len(records), dtype=np.int64)
    return records


class _ImageBytes:
    """index -> encoded image bytes of one example."""

    def __init__(self, source):
        self.source = source

    def __getitem__(self, index):
        return self.source[int(index)]["image"]
