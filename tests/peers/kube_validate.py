#!/usr/bin/python3
"""Checks what hoist sends a Kubernetes API server, two independent ways.

Usage: kube_validate.py SCHEMA_DIR FILE...  (each FILE a YAML stream, as
`hoist submit --dry-run -o yaml` prints it, or a JSON object or array)

1. Every object validates (python3-jsonschema) against the official OpenAPI
   schema of its kind: batch/v1 Job from apis__batch__v1_openapi.json,
   core/v1 Secret and Service from core_v1_subset.json (SOURCE.txt says
   what it is).  Like the API server's fieldValidation=Strict, a field the
   schema does not name is an error (additionalProperties: false on every
   object schema with properties), and every resource quantity must follow
   the Quantity grammar the schema describes.
2. python3-kubernetes, the official client, deserializes each object into
   its typed model (V1Job, V1Secret, V1Service) and serializes it back: the
   result must equal the input (nothing dropped or changed).
Exits 1 naming the file, the object and the problem.
"""
import copy
import json
import os
import re
import sys

import jsonschema
import yaml

KINDS = {
    ("batch/v1", "Job"): ("io.k8s.api.batch.v1.Job", "V1Job"),
    ("v1", "Secret"): ("io.k8s.api.core.v1.Secret", "V1Secret"),
    ("v1", "Service"): ("io.k8s.api.core.v1.Service", "V1Service"),
}
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")


def strict(schema):
    """additionalProperties: false wherever properties are listed."""
    if isinstance(schema, dict):
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for v in schema.values():
            strict(v)
    elif isinstance(schema, list):
        for v in schema:
            strict(v)


def load_schemas(d):
    schemas = {}
    for name in ("apis__batch__v1_openapi.json", "core_v1_subset.json"):
        with open(os.path.join(d, name)) as f:
            schemas.update(json.load(f)["components"]["schemas"])
    schemas = copy.deepcopy(schemas)
    strict(schemas)
    return {"components": {"schemas": schemas}}


def quantities(obj, where, errors):
    """Resource requests and limits: the Quantity grammar."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("requests", "limits") and isinstance(v, dict):
                for r, q in v.items():
                    if not isinstance(q, str) or not QUANTITY.match(q):
                        errors.append("%s.%s.%s: %r is not a Kubernetes quantity" % (where, k, r, q))
            quantities(v, where + "." + k, errors)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            quantities(v, "%s[%d]" % (where, i), errors)


# Fields newer than Debian's python3-kubernetes (22.6, Kubernetes 1.22),
# which its models cannot hold: with the Kubernetes release that added them
# and the model that lacks them.  They are checked by the schema (1.) only.
NEWER = {
    "podFailurePolicy": ("1.26", "V1JobSpec", "pod_failure_policy"),
    "backoffLimitPerIndex": ("1.28", "V1JobSpec", "backoff_limit_per_index"),
}


def lost(a, b, path=""):
    """Paths of A that B lacks or holds differently."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k, v in a.items():
            if k not in b:
                out.append((path + "." + k, k))
            else:
                out += lost(v, b[k], path + "." + k)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += lost(x, y, "%s[%d]" % (path, i))
        return out
    return [] if a == b else [(path, None)]


def roundtrip(obj, model, notes):
    from kubernetes import client

    api = client.ApiClient()
    typed = api._ApiClient__deserialize(copy.deepcopy(obj), model)
    back = api.sanitize_for_serialization(typed)
    problems = []
    for path, key in lost(obj, back) + [(p, None) for p, _ in lost(back, obj)]:
        newer = NEWER.get(key)
        if newer and newer[2] not in getattr(client, newer[1]).attribute_map:
            notes.add("%s (Kubernetes %s) is newer than python3-kubernetes %s: checked by the schema only"
                      % (key, newer[0], client.__version__ if hasattr(client, "__version__") else ""))
            continue
        problems.append(path)
    if problems:
        return "python3-kubernetes %s does not read it back the same at %s" % (model, ", ".join(problems))
    return None


def objects(path):
    with open(path) as f:
        text = f.read()
    if path.endswith(".json"):
        v = json.loads(text)
        return v if isinstance(v, list) else [v]
    return [d for d in yaml.safe_load_all(text) if d is not None]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    root = load_schemas(sys.argv[1])
    resolver = jsonschema.RefResolver("", root)
    bad = 0
    seen = 0
    notes = set()
    for path in sys.argv[2:]:
        for i, obj in enumerate(objects(path)):
            seen += 1
            key = (obj.get("apiVersion"), obj.get("kind"))
            where = "%s: object %d (%s %s)" % (path, i + 1, key[1], obj.get("metadata", {}).get("name"))
            if key not in KINDS:
                print("%s: not a kind hoist sends" % where)
                bad += 1
                continue
            schema_name, model = KINDS[key]
            v = jsonschema.Draft7Validator({"$ref": "#/components/schemas/" + schema_name}, resolver=resolver)
            errors = ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(top)", e.message)
                      for e in v.iter_errors(obj)]
            quantities(obj, "", errors)
            r = roundtrip(obj, model, notes)
            if r:
                errors.append(r)
            for e in errors:
                print("%s: %s" % (where, e))
            bad += bool(errors)
    if seen == 0:
        print("no objects in %s" % " ".join(sys.argv[2:]))
        return 1
    for n in sorted(notes):
        print("note: " + n)
    print("kube_validate: %d objects, %d invalid" % (seen, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
