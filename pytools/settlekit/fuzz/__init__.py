"""Fuzzing engines behind ``settlekit fuzz`` (docs/fuzzing.md).

- :mod:`settlekit.fuzz.forge_engine`: the project's forge fuzz and invariant suites run as subprocesses
  (:func:`~settlekit.fuzz.forge_engine.run_forge`, :func:`~settlekit.fuzz.forge_engine.replay_counterexample`);
  :mod:`.report` its result types, :mod:`.forge_json` the reading of forge's JSON, :mod:`.replay_files` the
  counterexample files and telling the engines' replay files apart (top-level ``"engine"``: ``forge`` / ``diff``).
- :mod:`settlekit.fuzz.differential`: the differential engine (contracts in an in-process EVM against the models).

Nothing is imported here, so importing one engine does not load the other.
"""
