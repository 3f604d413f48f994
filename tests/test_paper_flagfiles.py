"""The paper flagfiles record their Table 1 row, and their flags agree with it."""

import re
from pathlib import Path

import pytest

from ttur_tf.training_flags import config_from_flagfile

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PAPER_FILES = sorted(CONFIGS.glob("*_ttur.flags")) + sorted(CONFIGS.glob("*_orig.flags"))
_ROW = re.compile(r"TTUR D \(b\) ([0-9.e-]+), G \(a\) ([0-9.e-]+):.*orig b = a = ([0-9.e-]+):",
                  re.DOTALL)


def header(flagfile):
    lines = flagfile.read_text().splitlines()
    return "\n".join(line for line in lines[: lines.index("# Data")] if line.startswith("#"))


def table_row(flagfile):
    """(TTUR D rate, TTUR G rate, orig rate) as the header records Table 1."""
    match = _ROW.search(header(flagfile))
    assert match, f"{flagfile.name} does not record its Table 1 row"
    return tuple(float(value) for value in match.groups())


@pytest.mark.parametrize("flagfile", PAPER_FILES, ids=lambda path: path.stem)
def test_the_header_records_the_paper_value_and_the_learning_rates_follow_the_table(flagfile):
    first_line = flagfile.read_text().splitlines()[0]
    assert re.search(r"\(paper Table 1: FID [0-9.]+\)|\(paper: JSD4 [0-9.]+, JSD6 [0-9.]+\)",
                     first_line), first_line
    assert re.search(r"best (FID|JSD4) [0-9.]+ at [0-9]+k updates", header(flagfile))
    d_rate, g_rate, orig_rate = table_row(flagfile)
    config = config_from_flagfile(flagfile, logdir="unused").resolved()
    if flagfile.stem.endswith("_ttur"):
        assert (config.d_lr, config.g_lr) == (d_rate, g_rate)
    elif config.d_lr != orig_rate:  # the script and the table differ: said, and one flag away
        assert "Where the script and Table 1 differ" in header(flagfile)
        switch = re.search(r"pass --lr=([0-9.e-]+) to follow the table", header(flagfile))
        assert switch and float(switch.group(1)) == orig_rate
        assert config_from_flagfile(flagfile, logdir="unused", lr=orig_rate).resolved().g_lr == \
            orig_rate


@pytest.mark.parametrize("flagfile", sorted(CONFIGS.glob("dcgan_*_ttur.flags")),
                         ids=lambda path: path.stem)
def test_dcgan_ttur_gives_the_generator_the_larger_rate_as_the_paper_says(flagfile):
    config = config_from_flagfile(flagfile, logdir="unused").resolved()
    assert config.g_lr > config.d_lr


@pytest.mark.parametrize("flagfile", [path for path in PAPER_FILES
                                      if not path.stem.startswith("dcgan")],
                         ids=lambda path: path.stem)
def test_wgan_gp_ttur_is_3e4_over_1e4_with_one_critic_step(flagfile):
    config = config_from_flagfile(flagfile, logdir="unused").resolved()
    if flagfile.stem.endswith("_ttur"):
        assert (config.d_lr, config.g_lr, config.n_critic) == (3e-4, 1e-4, 1)
    assert table_row(flagfile)[:2] == (3e-4, 1e-4)


@pytest.mark.parametrize("flagfile", PAPER_FILES, ids=lambda path: path.stem)
def test_only_the_cifar10_wgan_gp_rows_use_the_originals_four_image_critic(flagfile):
    config = config_from_flagfile(flagfile, logdir="unused").resolved()
    expected = "original" if flagfile.stem.startswith("wgan_gp_cifar10") else "per_image"
    assert config.critic_head == expected
    if expected == "original":
        assert "--critic_head=original" in header(flagfile)
