"""The live run: ``app.LiveApp`` starts and stops every camera; ``pipeline.CameraPipeline`` is one
camera (reader -> ``queue.FrameQueue`` -> analysis -> recogniser); ``recognise`` turns a track's
templates into an alert or nothing (the watchlist here, or elsewhere: the edge's service)."""
