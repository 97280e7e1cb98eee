"""Deployments: keys, plans, the write-ahead journal, manifests and on-chain verification."""
