"""Fréchet Inception Distance with the original frozen 2015 Inception graph (TTUR paper, Sec. 4)."""

from ttur_tf.fid.compare import fid_between, statistics_of
from ttur_tf.fid.frechet import frechet_distance, trace_sqrt_product
from ttur_tf.fid.inception import InceptionFeatures, InceptionGraphError, locate_graph
from ttur_tf.fid.stats import RunningMoments, Statistics, compute_statistics, load_statistics

__all__ = [
    "InceptionFeatures",
    "InceptionGraphError",
    "RunningMoments",
    "Statistics",
    "compute_statistics",
    "fid_between",
    "frechet_distance",
    "load_statistics",
    "locate_graph",
    "statistics_of",
    "trace_sqrt_product",
]
