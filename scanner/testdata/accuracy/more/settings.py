DEBUG = False
SECRET_KEY = "django-insecure-8f!x2k#p0m@v9q$w7z&c4b"
DATABASES = {"default": {"PASSWORD": os.environ["DB_PASSWORD"]}}
