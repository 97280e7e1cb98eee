"""End-to-end scenarios on a real chain (used by the demo and by tests): each deploys what it needs, drives the
contracts through a story, and returns a JSON-ready summary with the checks it made."""
