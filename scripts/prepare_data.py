"""Downloads and prepares a tfds data set of the paper, so that training and FID can read it offline.

    python scripts/prepare_data.py --dataset=cifar10        # or celeb_a, svhn_cropped,
                                                            # lsun/bedroom, lm1b, tfds:NAME

Runs tensorflow-datasets' own download_and_prepare into $TFDS_DATA_DIR (default
~/tensorflow_datasets) and reads the result back. For a machine without internet access, run it
where there is access with TFDS_DATA_DIR=DIR, copy DIR over and set TFDS_DATA_DIR=DIR there.
"""

from absl import flags

from ttur_tf import cli
from ttur_tf.data.tfds_sources import parse_tfds_source, prepare_tfds, tfds_data_dir


def define_flags(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_string("dataset", None, "cifar10, celeb_a, svhn_cropped, lsun/bedroom, lm1b or "
                        "tfds:NAME[/CONFIG].", flag_values=flag_values)
    flags.mark_flag_as_required("dataset", flag_values=flag_values)


def main(argv, flag_values: flags.FlagValues) -> None:
    cli.reject_extra_arguments(argv)
    name, _ = parse_tfds_source(flag_values.dataset)
    with cli.user_errors_exit():
        info = prepare_tfds(name)
    print(f"prepared {info.full_name} in {info.data_dir}")
    for split, split_info in sorted(info.splits.items()):
        print(f"  {split}: {split_info.num_examples} examples")
    if tfds_data_dir() is None:
        print("(the default folder; set TFDS_DATA_DIR to prepare elsewhere)")


if __name__ == "__main__":
    cli.run_script(define_flags, main)
