"""`tfds build` for this builder:

  python -m tfpose_dp.data.tfds_mpii --manual_dir=... [--data_dir=...]


Runs TFDS's own build command (same flags as `tfds build`) on this folder, in the random-access
array_record format unless --file_format says otherwise. It exists because the `tfds` entry
point of tensorflow-datasets 4.9.10 imports apache_beam at start-up; with apache-beam installed,
`tfds build tfpose_dp/data/tfds_mpii --file_format=array_record ...` does the same.
"""

import os
import sys


def main(argv):
    import simple_parsing
    from tensorflow_datasets.scripts.cli import build

    if not any(a.startswith("--file_format") for a in argv):
        argv = argv + ["--file_format=array_record"]
    build_args = simple_parsing.parse(
        build.Args, args=[os.path.dirname(os.path.abspath(__file__))] + argv
    )
    build_args.execute()


if __name__ == "__main__":
    main(sys.argv[1:])
