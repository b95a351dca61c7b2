import os
from decouple import config

DEBUG = False
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "orders",
        "USER": "orders",
        "PASSWORD": config("DB_PASSWORD"),
        "HOST": os.getenv("DB_HOST", "localhost"),
    }
}
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_PASSWORD", "")
STRIPE_API_KEY = "sk_live_Acnpmnu525GP2m5lZVP0fPqC"
AWS_SECRET_ACCESS_KEY = settings_secret("aws_secret_access_key")
SENTRY_DSN = env("SENTRY_DSN")
CELERY_BROKER_URL = "amqp://celery:CeON5petydfRJR9N@rabbit.acme.io:5672//"
PASSWORD_RESET_TIMEOUT = 3600
