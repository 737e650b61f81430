from services.notify.app import create_app
from services.notify.settings import Settings
from shared.entrypoint import run_service

if __name__ == "__main__":
    run_service("notify", Settings, create_app)  # type: ignore[arg-type]
