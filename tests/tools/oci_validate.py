#!/usr/bin/python3
"""Validates JSON documents against the OCI image-spec JSON Schemas.

    oci_validate.py manifest|index|config|layout FILE...

The schemas are tests/data/oci-image-spec (image-spec's schema/, Apache-2.0);
their relative $refs are resolved among themselves, nothing is fetched.
Exits 1 naming the first violation.  Uses Debian's python3-jsonschema.
"""
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "data", "oci-image-spec")
BASE = "https://opencontainers.org/schema/image/"
SCHEMAS = {"manifest": "image-manifest-schema.json", "index": "image-index-schema.json",
           "config": "config-schema.json", "layout": "image-layout-schema.json"}


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in SCHEMAS:
        sys.exit("usage: oci_validate.py manifest|index|config|layout FILE...")
    store = {}
    for name in os.listdir(SPEC):
        if name.endswith(".json"):
            with open(os.path.join(SPEC, name), encoding="utf-8") as f:
                doc = json.load(f)
            store[BASE + name] = doc
            if "id" in doc:
                store[doc["id"]] = doc
    schema = store[BASE + SCHEMAS[sys.argv[1]]]
    def local(uri):
        # every $ref names one of the files here, whatever base it resolved against
        name = uri.split("#")[0].rsplit("/", 1)[-1]
        if name not in os.listdir(SPEC):
            raise ValueError(f"schema '{uri}' is not in {SPEC}")
        with open(os.path.join(SPEC, name), encoding="utf-8") as f:
            return json.load(f)

    resolver = jsonschema.RefResolver(BASE + SCHEMAS[sys.argv[1]], schema, store=store,
                                      handlers={"https": local, "http": local})
    validator = jsonschema.Draft4Validator(schema, resolver=resolver)
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            sys.exit(f"{path}: not a valid OCI {sys.argv[1]}: "
                     f"{'/'.join(str(p) for p in e.path) or '(root)'}: {e.message}")
        print(f"{path}: valid OCI {sys.argv[1]}")


if __name__ == "__main__":
    main()
