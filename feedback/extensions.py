"""Flask extensions, created unbound here and bound to the app in ``create_app``."""
from flask_babel import Babel
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so that migrations can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
mail = Mail()
login_manager = LoginManager()
csrf = CSRFProtect()
# Storage and on/off come from config: RATELIMIT_STORAGE_URI (Redis when REDIS_URL is set), RATELIMIT_ENABLED.
limiter = Limiter(key_func=get_remote_address)
# Whole results worth keeping between pages (the dashboard's rendered snapshots, the platform
# benchmark): SimpleCache per process, Redis when REDIS_URL is set (config.py); each key names all
# its value depends on (queries/dashboard.py, dashboard/views.py).
cache = Cache()
# Flask-Babel 4: the locale selector is given to init_app (feedback/i18n.py).
babel = Babel()
