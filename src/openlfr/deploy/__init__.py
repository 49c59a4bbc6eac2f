"""Deployments: the lifecycle and its safeguards (``lifecycle``), a deployment's own watchlist in the
store (``watchlists``), and the published deployment records (``records``)."""
