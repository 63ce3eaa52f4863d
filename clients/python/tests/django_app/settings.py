"""Settings of the Django app the tests drive (SESSIOND's ADDRESS is set per test)."""

SECRET_KEY = "django test secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
ROOT_URLCONF = "django_app.urls"
INSTALLED_APPS = ["django.contrib.sessions"]
DATABASES: dict[str, object] = {}
SESSION_ENGINE = "sessiond.django"
MIDDLEWARE = ["sessiond.django.SessionMiddleware"]
SESSIOND = {"ADDRESS": "unset"}
USE_TZ = True
