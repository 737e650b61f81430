from services.requests.app import create_app
from services.requests.settings import Settings
from shared.entrypoint import run_service

if __name__ == "__main__":
    run_service("requests", Settings, create_app)  # type: ignore[arg-type]
