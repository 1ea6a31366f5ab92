"""The one layer the workflow's scripts call: each step reads its files, calls the science and
writes its outputs atomically.  ``ingest`` and ``scan`` work on one scan, ``study`` on the
cohort."""
