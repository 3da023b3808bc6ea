"""One normaliser per source: payload (a decoded JSON object) in, IncomingError out.

Each is a pure function ``normalise(payload, service_id) -> IncomingError`` that raises
``InvalidPayload`` naming the field when the payload cannot be accepted.
"""
from app.ingest.sources import api, frontend, generic, java, laravel, mobile

NORMALISERS = {
    "api": api.normalise,
    "generic": generic.normalise,
    "laravel": laravel.normalise,
    "java": java.normalise,
    "frontend": frontend.normalise,
    "mobile": mobile.normalise,
}

__all__ = ["NORMALISERS"]
