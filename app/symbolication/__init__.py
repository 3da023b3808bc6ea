"""Source maps for browser errors: uploads from ``sentry-cli`` (chunks, assembled into an artifact bundle,
see uploads.py and bundles.py) and the resolution of minified JavaScript frames to the original file,
line, column, function and context lines (resolve.py), done with Sentry's ``symbolic`` library.

Resolution runs in the request thread, after the Sentry event is normalised and before it is
prepared (so the fingerprint is computed on the original frames and a group does not change with
each deploy); events with nothing to resolve pay one dictionary look-up (docs/PERFORMANCE.md).
"""
