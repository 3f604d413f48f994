"""The paper's toy experiments and their relatives, NumPy only: ``saddle`` (Figure 4's noisy
saddle, one vs two time scales), ``dirac`` (the Dirac-GAN of Mescheder et al. 2018) and ``rules``
(the update rules both share, with the spectral radius that predicts their outcome)."""
