"""Exact-integer Python reference models of the contracts: the same arithmetic, step for step, in plain Python,
so differential tests and fuzzers can compare every balance and payout to the wei."""
