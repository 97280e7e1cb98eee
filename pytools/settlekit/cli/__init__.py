"""The ``settlekit`` command line."""
