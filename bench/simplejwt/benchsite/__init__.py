"""The smallest Django project serving djangorestframework-simplejwt, for bench/run.sh."""
