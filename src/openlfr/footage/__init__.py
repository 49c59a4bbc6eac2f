"""Footage search: every track in recorded video, indexed once, then searched for a person.

``tracks.collect_tracks`` runs a video through the live pipeline itself (``live.LiveApp``: the same
detection, tracking, best shots and embedding as ``lfr watch``), flat out (the file read as fast as
analysis takes it, no frame dropped), with a ``TrackRecogniser`` that keeps each track's fused template
(the quality-weighted mean of its embedded best shots), its time span and its best crop instead of
matching. ``store`` keeps them in a footage folder, which is a gallery (``openlfr.gallery``: encrypted
records, FAISS index, retention, audit) whose records are tracks; ``search`` finds every appearance of
a probe's face, ranked, with its time span, above the folder's threshold. ``lfr search-video`` does the
same in one go against a watchlist, keeping nothing.
"""
