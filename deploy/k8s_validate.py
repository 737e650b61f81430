"""`make k8s-validate`: render deploy/k8s's kustomizations and validate every object against the Kubernetes schema.

Rendering: `kustomize build` or `kubectl kustomize` when one is on PATH; otherwise a small renderer of the subset
these kustomizations use (resources, namespace, images, configMapGenerator from files without a name hash, and
replacements of one field or one delimited part of it). Validation: kubernetes-validate (strict: unknown fields
fail), offline. No cluster is needed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

K8S = Path(__file__).resolve().parent / "k8s"
# the roots applied with `kubectl apply -k`, and the example Secret (applied by hand)
KUSTOMIZATIONS = ("", "migrations", "../overlays/production")
PLAIN_MANIFESTS = ("secret.example.yaml",)
KUBERNETES_VERSION = "1.33.0"
# what the built-in renderer does beyond resources, namespace and images
RENDERED_TOO = {"configMapGenerator", "replacements"}


def _kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def render(directory: Path, *, use_tool: bool = True) -> list[dict[str, Any]]:
    """The objects a kustomization directory builds to."""
    command = _kustomize_command() if use_tool else None
    if command is not None:
        out = subprocess.run([*command, str(directory)], check=True, capture_output=True, text=True).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]
    return list(_render_subset(directory))


def _render_subset(directory: Path, namespace: str | None = None) -> Iterator[dict[str, Any]]:
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(spec) - {"apiVersion", "kind", "namespace", "resources", "images"} - RENDERED_TOO
    if unknown:
        raise ValueError(f"{directory}/kustomization.yaml uses {sorted(unknown)}: install kustomize to render it")
    namespace = spec.get("namespace", namespace)
    images = {i["name"]: f"{i.get('newName', i['name'])}:{i['newTag']}" for i in spec.get("images", [])}
    docs: list[dict[str, Any]] = []
    for resource in spec.get("resources", []):
        path = directory / resource
        if path.is_dir():
            docs += _render_subset(path, namespace)
        else:
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    docs += [_generated_config_map(directory, generator) for generator in spec.get("configMapGenerator", [])]
    for doc in docs:
        if namespace and doc.get("kind") != "Namespace":
            doc.setdefault("metadata", {})["namespace"] = namespace
        for container in _containers(doc):
            container["image"] = images.get(container.get("image", ""), container.get("image"))
    for replacement in spec.get("replacements", []):
        _replace(docs, replacement)
    yield from docs


def _generated_config_map(directory: Path, generator: dict[str, Any]) -> dict[str, Any]:
    options = generator.get("options", {})
    if set(generator) - {"name", "files", "options"} or not options.get("disableNameSuffixHash"):
        raise ValueError(f"{directory}: a configMapGenerator beyond files without a name hash: install kustomize")
    data = {Path(file).name: (directory / file).read_text() for file in generator["files"]}
    metadata = {"name": generator["name"], **({"labels": options["labels"]} if "labels" in options else {})}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def _field(doc: Any, path: str) -> tuple[Any, str | int]:
    """The parent of a kustomize field path's last step (`a.b.[name=x].c`), and that step."""
    *steps, last = path.split(".")
    for step in steps:
        if step.startswith("[") and "=" in step:
            key, value = step[1:-1].split("=", 1)
            doc = next(item for item in doc if item.get(key) == value)
        else:
            doc = doc[step]
    return doc, last


def _replace(docs: list[dict[str, Any]], replacement: dict[str, Any]) -> None:
    """kustomize's replacements, as far as these kustomizations use them: one source field (or one part of it,
    `options.delimiter`/`index`) into fields of every object of a kind, whole or as one part (an index past the
    end appends)."""
    source = replacement["source"]
    (origin,) = [d for d in docs if d["kind"] == source["kind"] and d["metadata"]["name"] == source["name"]]
    parent, step = _field(origin, source["fieldPath"])
    value = str(parent[step])
    if "options" in source:
        value = value.split(source["options"]["delimiter"])[source["options"]["index"]]
    for target in replacement["targets"]:
        selected = [d for d in docs if d["kind"] == target["select"]["kind"]]
        for doc in selected:
            for path in target["fieldPaths"]:
                parent, step = _field(doc, path)
                if "options" not in target:
                    parent[step] = value
                    continue
                parts = str(parent[step]).split(target["options"]["delimiter"])
                index = target["options"]["index"]
                parts = [*parts, value] if index >= len(parts) else [*parts[:index], value, *parts[index + 1 :]]
                parent[step] = target["options"]["delimiter"].join(parts)


def _containers(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    pod = pod_spec(doc)
    if pod is not None:
        yield from pod.get("initContainers", [])
        yield from pod.get("containers", [])


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc.get("kind") in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        spec: dict[str, Any] = doc["spec"]["template"]["spec"]
        return spec
    return None


def all_objects(*, use_tool: bool = True) -> list[tuple[str, dict[str, Any]]]:
    """(where it comes from, object) for every object deploy/k8s defines."""
    found = [(f"k8s/{k or '.'}", doc) for k in KUSTOMIZATIONS for doc in render(K8S / k, use_tool=use_tool)]
    for name in PLAIN_MANIFESTS:
        found += [(f"k8s/{name}", d) for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return found


def validate(objects: list[tuple[str, dict[str, Any]]], version: str = KUBERNETES_VERSION) -> list[str]:
    """One message per object that fails the schema."""
    try:
        import kubernetes_validate
    except ModuleNotFoundError as exc:  # a dev dependency: the venv predates it
        raise SystemExit("kubernetes-validate is missing from .venv: run make bootstrap (requirements.lock)") from exc

    errors = []
    for origin, doc in objects:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{origin}: {doc['kind']}/{doc['metadata'].get('name')}: {exc.message} at {list(exc.path)}")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.k8s_validate", description=__doc__)
    parser.add_argument("--kubernetes-version", default=KUBERNETES_VERSION)
    parser.add_argument("--no-kustomize", action="store_true", help="use the built-in renderer even if a tool exists")
    args = parser.parse_args(argv)
    objects = all_objects(use_tool=not args.no_kustomize)
    errors = validate(objects, args.kubernetes_version)
    for error in errors:
        print(error, file=sys.stderr)
    print(f"{len(objects)} objects, {len(errors)} invalid (Kubernetes {args.kubernetes_version})")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
