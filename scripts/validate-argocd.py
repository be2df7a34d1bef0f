#!/usr/bin/env python3
"""Strictly validate rendered Argo CD manifests.

    .venv/bin/python scripts/validate-argocd.py DIR [--schemas SCHEMA_DIR]

Every DIR/*.yaml document whose kind is an Argo CD custom resource (Application,
ApplicationSet, AppProject) is checked against the openAPIV3Schema of its CRD, by default
the Argo CD 3.6 CRDs vendored in <repo>/vendor/argocd-crds (see its README):

  * jsonschema validation (types, enums, required fields, patterns);
  * strictness: every key must be named by the schema. An openAPIV3Schema lets unknown
    fields through (the API server would silently drop them), so a misspelt `selfHeal`
    would pass plain validation and do nothing. Only `x-kubernetes-preserve-unknown-fields`
    allows keys the schema does not name. The top-level `metadata` is only `type: object`
    in a CRD, so it is checked against the ObjectMeta fields that a manifest may set.

Any other kind (the repository Secret) is validated with kubernetes-validate in strict mode.

Exit status 0 when every document passes; 1 with one line per problem on stderr
(`FILE: KEY.PATH: message`); 2 on usage errors (missing directory or schemas).
"""

import argparse
import sys
from pathlib import Path

import jsonschema
import yaml

ARGO_GROUP = "argoproj.io"

# ObjectMeta fields a manifest may write; the API server sets the rest.
OBJECT_META_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {
            "type": "string",
            "maxLength": 253,
            "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        },
        "namespace": {
            "type": "string",
            "maxLength": 63,
            "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        },
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
}


def default_schema_dir() -> Path:
    repo = Path(__file__).resolve().parent.parent
    return repo / "vendor" / "argocd-crds"


def load_crds(schema_dir: Path) -> dict:
    """(apiVersion, kind) -> (openAPIV3Schema, CRD file name)."""
    crds = {}
    for path in sorted(schema_dir.glob("*.yaml")):
        with path.open() as f:
            for doc in yaml.safe_load_all(f):
                if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                    continue
                spec = doc["spec"]
                for version in spec["versions"]:
                    if not version.get("served", True):
                        continue
                    api_version = f"{spec['group']}/{version['name']}"
                    schema = version["schema"]["openAPIV3Schema"]
                    crds[(api_version, spec["names"]["kind"])] = (schema, path.name)
    return crds


def key_path(parts) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(document)"


def unknown_keys(value, schema, path, problems):
    """Appends (path, message) for every key that `schema` does not name."""
    if not isinstance(schema, dict):
        return
    preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        for key, child in value.items():
            if properties is not None and key in properties:
                unknown_keys(child, properties[key], path + [key], problems)
            elif isinstance(additional, dict):
                unknown_keys(child, additional, path + [key], problems)
            elif additional is True or preserve:
                continue
            else:
                problems.append((path + [key], "unknown key: the schema does not name it"))
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for index, child in enumerate(value):
                unknown_keys(child, items, path + [index], problems)


def check_argo(doc, schema):
    problems = []
    # The CRD says only `metadata: {type: object}`; check it as ObjectMeta instead.
    crd_schema = dict(schema)
    crd_schema["properties"] = dict(schema.get("properties", {}))
    crd_schema["properties"]["metadata"] = OBJECT_META_SCHEMA
    validator = jsonschema.Draft7Validator(crd_schema)
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        problems.append((list(error.absolute_path), error.message))
    for key in ("status", "operation"):
        if key in doc:
            problems.append(([key], "written by Argo CD, not by a manifest"))
    unknown_keys(doc, crd_schema, [], problems)
    return problems


def check_kubernetes(doc):
    import kubernetes_validate

    try:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
    except kubernetes_validate.ValidationError as error:
        path = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            named = error.schema.get("properties", {})
            extra = [key for key in error.instance if key not in named]
            if extra:
                return [(path + [key], "unknown key: the schema does not name it") for key in extra]
        return [(path, error.message)]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [([], error.message)]
    return []


def validate_directory(directory: Path, crds: dict) -> list:
    """Lines `FILE: PATH: message` for every problem in DIR/*.yaml."""
    lines = []
    argo_kinds = {kind for (_, kind) in crds}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        lines.append(f"{directory}: no *.yaml files")
    for path in files:
        try:
            with path.open() as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as error:
            lines.append(f"{path}: not YAML: {error}")
            continue
        for index, doc in enumerate(docs):
            where = str(path) if len(docs) == 1 else f"{path}#{index}"
            if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
                lines.append(f"{where}: (document): not a Kubernetes object (apiVersion and kind)")
                continue
            api_version, kind = doc["apiVersion"], doc["kind"]
            group = api_version.split("/")[0] if "/" in api_version else ""
            if group == ARGO_GROUP or kind in argo_kinds:
                entry = crds.get((api_version, kind))
                if entry is None:
                    lines.append(f"{where}: apiVersion: no Argo CD schema for {api_version} {kind}")
                    continue
                problems = check_argo(doc, entry[0])
            else:
                problems = check_kubernetes(doc)
            for parts, message in problems:
                lines.append(f"{where}: {key_path(parts)}: {message}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Strictly validate Argo CD manifests.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--schemas", type=Path, default=default_schema_dir(),
                        help="folder of Argo CD CRD files (default: <repo>/vendor/argocd-crds)")
    args = parser.parse_args(argv)

    if not args.directory.is_dir():
        print(f"{args.directory}: not a directory", file=sys.stderr)
        return 2
    crds = load_crds(args.schemas) if args.schemas.is_dir() else {}
    if not crds:
        print(f"{args.schemas}: no CustomResourceDefinitions found", file=sys.stderr)
        return 2

    lines = validate_directory(args.directory, crds)
    for line in lines:
        print(line, file=sys.stderr)
    if lines:
        return 1
    count = len(list(args.directory.glob("*.yaml")))
    print(f"{args.directory}: {count} files valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
