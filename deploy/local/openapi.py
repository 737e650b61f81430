"""`make openapi`: each service's OpenAPI document, from create_app without running a server (the lifespan
is not entered, so no database or broker is needed), written to web/shared/openapi/<service>.json."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from shared.migrations import SERVICES, service_settings_class
from shared.settings import REPO_ROOT, load_settings


def dump(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SERVICES:
        module = importlib.import_module(f"services.{name}.app")
        app = module.create_app(load_settings(service_settings_class(name)))
        path = out_dir / f"{name}.json"
        path.write_text(json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def main() -> None:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / "web" / "shared" / "openapi"
    for path in dump(out_dir):
        print(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)


if __name__ == "__main__":
    main()
