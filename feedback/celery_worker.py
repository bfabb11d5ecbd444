"""Entry point for ``celery -A feedback.celery_worker worker``: the Flask app and its Celery app."""
from . import create_app
from .config import ConfigError
from .tasks import celery_init_app

flask_app = create_app()
if not flask_app.config.get("CELERY_BROKER_URL"):
    raise ConfigError("set REDIS_URL (or CELERY_BROKER_URL) to run Celery workers")
celery = celery_init_app(flask_app)
