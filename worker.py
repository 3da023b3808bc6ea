"""The worker's entry point: ``huey_consumer worker.huey`` runs the tasks of an app built from the environment."""
from app import create_app
from app.jobs import queue_of
from app.platform import logs

app = create_app()
huey = queue_of(app)

if app.config["LOG_FORMAT"] == "json":
    # The consumer sets up its own log handler after importing this module: it writes JSON from its start.
    huey.on_startup()(logs.use_json_everywhere)
