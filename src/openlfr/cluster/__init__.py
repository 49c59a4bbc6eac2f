"""Cameras on a Ray cluster (``lfr serve --cluster``): each live camera is a Ray actor on a node that
declared capacity for it; the watchlist, the matching, the store and the sinks stay in the service."""
