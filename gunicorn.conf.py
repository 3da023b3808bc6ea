"""gunicorn's settings for Heartwatch's web process: the Procfile's ``web:`` line runs
``gunicorn -c gunicorn.conf.py wsgi:app``. Every value comes from the environment (README: settings)."""
import os
from pathlib import Path

from app.platform import logs, metrics, serving

try:
    workers = serving.web_concurrency()
    threads = serving.web_threads()
    _log_format = logs.log_format()
except ValueError as exc:  # a bad setting stops the start with its name, as every other setting does
    raise SystemExit(f"Heartwatch cannot start: {exc}") from None

worker_class = "gthread"
bind = f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '5000'}"
control_socket_disable = True
# The access log is off unless WEB_ACCESS_LOG names a file ("-" for the standard output): at a thousand
# events a second it costs as much as a tenth of the ingest.
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
if _log_format == "json":
    logger_class = "app.platform.logs.GunicornLogger"


def on_starting(server):
    """The counts of processes of an earlier run are forgotten (the worker's, running, are kept)."""
    if os.environ.get("METRICS_TOKEN"):
        from app import INSTANCE_PATH

        folder = os.environ.setdefault(metrics.MULTIPROC_ENV, os.environ.get("METRICS_DIR")
                                       or str(INSTANCE_PATH / "metrics"))
        metrics.forget_gone_processes(Path(folder))


def child_exit(server, worker):
    metrics.process_exited(worker.pid)
