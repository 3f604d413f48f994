"""Generator and discriminator networks (Keras, channels last), each module an entry of the
registry (``ttur_tf.models.registry``) that ``--model`` names: the original TTUR experiments'
``resnet``, ``dcgan`` and ``language``, and the architectures that followed them."""

__all__ = ["check_image_size_and_width"]


def check_image_size_and_width(image_size: int, width: int, width_name: str) -> None:
    """Both architectures halve the image four times: the size must be a multiple of 16.

    Raises:
        ValueError: naming the bad image size, or the width parameter ``width_name`` if < 1.
    """
    if image_size < 16 or image_size % 16:
        raise ValueError(f"image_size must be a multiple of 16 (32 or 64 in the paper), got {image_size}")
    if width < 1:
        raise ValueError(f"{width_name} must be ≥ 1, got {width}")


# The built-in architectures register themselves (after the helper above, which they import),
# in the order --help lists them: the paper's first.
from ttur_tf.models import wgan_gp_resnet  # noqa: E402, F401, I001
from ttur_tf.models import dcgan, language  # noqa: E402, F401, I001
from ttur_tf.models import sngan_resnet  # noqa: E402, F401, I001
from ttur_tf.models import biggan_resnet  # noqa: E402, F401, I001
