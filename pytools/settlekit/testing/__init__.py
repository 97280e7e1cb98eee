"""Test support: the pytest plugin (fixtures) that settlekit's own tests and its users' tests share."""
