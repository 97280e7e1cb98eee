"""Watching a chain: the head follower, reorg handling, event decoding and the event store."""
