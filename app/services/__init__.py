"""Use cases: submit, process (claim, recognize, enrich, finish), sweep, confirm. One transaction each step."""
