"""tensorflow-datasets' real download-and-prepare path, end to end and offline.

``tfds.testing.mock_data`` skips download_and_prepare, and a user never does: here a small
builder "downloads" a local .tar.gz of PNGs (tfds copies and extracts it like any download),
generates, shuffles and writes its records; then our data pipeline, FID statistics and the
prepare_data script read it the way they read cifar10.
"""

import tarfile

import numpy as np
import pytest
import tensorflow_datasets as tfds

from conftest import (mean_color_features, python_ops_in, random_images, run_script_in_process,
                      write_png_folder)
from ttur_tf.data.images import load_image_data, training_batches, uint8_images
from ttur_tf.fid import compute_statistics

_IMAGES = random_images(12, 8, 8, seed=5)


class LocalPngs(tfds.core.GeneratorBasedBuilder):
    """Twelve 8×8 PNGs from a local archive (the ``ARCHIVE`` class attribute, set by the test)."""

    VERSION = tfds.core.Version("1.0.0")
    ARCHIVE = None

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict({"image": tfds.features.Image(shape=(8, 8, 3))}),
        )

    def _split_generators(self, dl_manager):
        folder = dl_manager.download_and_extract(str(self.ARCHIVE))
        return {"train": self._generate_examples(folder)}

    def _generate_examples(self, folder):
        for path in sorted(folder.glob("*.png")):
            yield path.name, {"image": path}


@pytest.fixture
def tfds_data_dir(tmp_path, monkeypatch):
    folder = write_png_folder(tmp_path / "pngs", _IMAGES)
    archive = tmp_path / "local_pngs.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)
    monkeypatch.setattr(LocalPngs, "ARCHIVE", archive)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tensorflow_datasets"))
    return tmp_path / "tensorflow_datasets"


def test_a_dataset_is_downloaded_prepared_and_read_by_training_and_fid(tfds_data_dir):
    data = load_image_data("tfds:local_pngs")  # not prepared yet: tfds.load prepares it
    assert (tfds_data_dir / "local_pngs" / "1.0.0" / "dataset_info.json").is_file()
    images = np.stack([image.numpy() for image in uint8_images(data)])
    assert data.num_images == 12 and data.image_size == 8
    # Same images (tfds may store them in another order than the files').
    np.testing.assert_array_equal(np.sort(images.reshape(12, -1), axis=0),
                                  np.sort(_IMAGES.reshape(12, -1), axis=0))
    batch = next(iter(training_batches(data, batch_size=4, seed=0))).numpy()
    assert batch.shape == (4, 8, 8, 3) and -1 <= batch.min() and batch.max() <= 1
    assert python_ops_in(training_batches(data, batch_size=4, seed=0, start_image=5)) == set()
    assert python_ops_in(uint8_images(data)) == set()

    statistics = compute_statistics("tfds:local_pngs", mean_color_features, batch_size=5)
    np.testing.assert_allclose(statistics.mu, mean_color_features(_IMAGES).mean(axis=0), rtol=1e-10)
    assert statistics.num_images == 12


def test_prepare_data_script_prepares_and_reports_the_splits(tfds_data_dir, capsys):
    code, out, err = run_script_in_process("prepare_data.py", "--dataset=tfds:local_pngs")
    assert code == 0, err
    assert f"prepared local_pngs/1.0.0 in {tfds_data_dir}" in out
    assert "train: 12 examples" in out


def test_a_dataset_that_cannot_be_prepared_says_how_to_prepare_it_offline(tfds_data_dir):
    code, _, err = run_script_in_process("prepare_data.py", "--dataset=tfds:no_such_dataset_here")
    assert code == 1
    assert err.startswith("error: could not prepare the tfds dataset 'no_such_dataset_here'")
    with pytest.raises(ValueError, match=f"from {tfds_data_dir}.*scripts/prepare_data.py "
                                         "--dataset=tfds:no_such_dataset_here"):
        load_image_data("tfds:no_such_dataset_here", image_size=8)
