"""Generator and discriminator networks of the original TTUR experiments (Keras, channels last)."""
