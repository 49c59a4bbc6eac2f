"""Edge devices: detect, track, pick best shots and embed on the device; match in the service.

The device (``lfr edge``: ``run``, ``recogniser``, ``sender``) sends only templates; the service
(``matching``, behind ``api/routes/edge.py``) matches them against the deployment's watchlist and
answers hit or no hit; only on a hit does the device send the face crop, from which the service makes
the alert. A face that raised no alert never leaves the device as an image. ``wire`` holds the bodies
both sides share.
"""
