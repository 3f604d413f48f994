"""Evaluation metrics other than FID: character n-gram language models and their JS divergence."""
