"""The worker's entry point: ``huey_consumer worker.huey`` runs the tasks of an app built from the environment."""
from app import create_app
from app.jobs import queue_of

app = create_app()
huey = queue_of(app)
