"""Review: alerts in the store (``alerts``) and their adjudication as append-only events (``adjudication``)."""
