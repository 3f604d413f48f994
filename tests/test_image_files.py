"""Folders of image files: listing, decoding, conversion to RGB, and bad folders."""

import io

import numpy as np
import pytest
from conftest import random_images, write_png_folder
from PIL import Image

from ttur_tf.data.image_files import decoded_images, list_image_files


def save_with_pil(path, image, **options):
    image.save(path, **options)
    return path


def test_extensions_match_in_any_case_sorted_and_once(tmp_path):
    for name in ("b.PNG", "a.jpg", "c.JPEG", "d.bmp", "e.WebP", "notes.txt", "f.gif"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.png").mkdir()
    names = [path.name for path in list_image_files(tmp_path)]
    assert names == ["a.jpg", "b.PNG", "c.JPEG", "d.bmp", "e.WebP"]


def test_missing_folder_file_and_empty_folder_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list_image_files(tmp_path / "missing")
    (tmp_path / "image.png").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="is a file"):
        list_image_files(tmp_path / "image.png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images")
    with pytest.raises(ValueError, match=r"no image files in .*empty.*\.png"):
        list_image_files(tmp_path / "empty")


def test_png_images_decode_to_their_pixels(tmp_path):
    images = random_images(3, 5, 7)
    folder = write_png_folder(tmp_path, images)
    decoded = list(decoded_images(list_image_files(folder)))
    np.testing.assert_array_equal(np.stack(decoded), images)


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "I;16"])
def test_non_rgb_png_modes_become_rgb_as_pil_converts_them(tmp_path, mode):
    rgb = Image.fromarray(random_images(1, 6, 4)[0])
    if mode == "I;16":
        gray16 = (np.asarray(rgb.convert("L"), dtype=np.uint16) * 257).astype("<u2")
        image = Image.frombytes("I;16", (4, 6), gray16.tobytes())
        expected = np.repeat(np.asarray(rgb.convert("L"))[..., None], 3, axis=-1)
    else:
        image = rgb.convert(mode)
        expected = np.asarray(image.convert("RGB"))
    path = save_with_pil(tmp_path / "image.png", image)
    (decoded,) = decoded_images([path])
    assert decoded.shape == (6, 4, 3) and decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, expected)


@pytest.mark.parametrize("extension, options", [(".bmp", {}), (".webp", {"lossless": True})])
def test_bmp_and_webp_decode(tmp_path, extension, options):
    pixels = random_images(1, 6, 4)[0]
    path = save_with_pil(tmp_path / f"image{extension}", Image.fromarray(pixels), **options)
    (decoded,) = decoded_images([path])
    np.testing.assert_array_equal(decoded, pixels)


@pytest.mark.parametrize("quality", [75, 95])
def test_jpeg_decodes_exactly_as_pil_does(tmp_path, quality):
    # The original reads files with imageio/PIL (libjpeg's accurate IDCT), not TF's fast default.
    buffer = io.BytesIO()
    Image.fromarray(random_images(1, 33, 47)[0]).save(buffer, format="JPEG", quality=quality)
    path = tmp_path / "image.jpg"
    path.write_bytes(buffer.getvalue())
    (decoded,) = decoded_images([path])
    np.testing.assert_array_equal(decoded, np.asarray(Image.open(path)))


def test_a_corrupt_file_is_named_in_the_error(tmp_path):
    folder = write_png_folder(tmp_path, random_images(2, 4, 4))
    (folder / "00001.png").write_bytes(b"this is not a png")
    with pytest.raises(ValueError, match="00001.png"):
        list(decoded_images(list_image_files(folder)))
