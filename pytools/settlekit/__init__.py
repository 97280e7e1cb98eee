"""settlekit: safe settlement and liquidation contracts, and the tooling that builds, deploys, fuzzes and
watches them."""

__version__ = "0.1.0"
