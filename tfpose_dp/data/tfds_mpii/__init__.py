"""TFDS builder for MPII Human Pose (manual download); see tfds_mpii_dataset_builder.py."""
