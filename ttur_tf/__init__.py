"""ttur_tf: the TTUR paper's training and evaluation code on TensorFlow 2 / Keras 3.

Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", NeurIPS 2017; original TF1 code: bioinf-jku/TTUR.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
