from services.contracts.app import create_app
from services.contracts.settings import Settings
from shared.entrypoint import run_service

if __name__ == "__main__":
    run_service("contracts", Settings, create_app)  # type: ignore[arg-type]
