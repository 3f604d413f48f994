"""Multi-seed comparisons of training settings (scripts/sweep.py): the runs
(``runs``), their logged scalars (``event_scalars``), the mean and min/max over seeds
(``bands``) and the files and figures (``report``)."""
