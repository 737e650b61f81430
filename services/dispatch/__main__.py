from services.dispatch.app import create_app
from services.dispatch.settings import Settings
from shared.entrypoint import run_service

if __name__ == "__main__":
    run_service("dispatch", Settings, create_app)  # type: ignore[arg-type]
