"""Checks a request's parameters against a botocore service model.

botocore's own ParamValidator (from Debian's awscli) checks required
members, types and minimums; this adds what it leaves out and the service
enforces: enums, patterns, maximum lengths, values and sizes, and unknown
members.  Patterns are the model's regular expressions with the Java
classes Python lacks (\\p{L}, \\p{Z}, \\p{N}) spelt out.

    python3 aws_model.py MODEL.json OPERATION BODY.json   exit 1 on errors
"""
import json
import re
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages/awscli")
import botocore.model  # noqa: E402
import botocore.validate  # noqa: E402

JAVA_CLASSES = {r"\p{L}": r"^\W\d_", r"\p{Z}": r"\s", r"\p{N}": r"\d"}


def _pattern(p):
    # \p{L} inside [...] becomes a set of letters; Python's re has no \p.
    for k, v in JAVA_CLASSES.items():
        if k == r"\p{L}":
            p = p.replace(k, "a-zA-Z\u00c0-\uffff")
        else:
            p = p.replace(k, v)
    return re.compile(p, re.S)


class Model:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.raw = json.load(f)
        self.service = botocore.model.ServiceModel(self.raw)

    def validate(self, operation, params):
        """A list of error strings; empty when PARAMS is a valid request."""
        try:
            op = self.service.operation_model(operation)
        except Exception:  # an unknown operation
            return [f"unknown operation {operation}"]
        errors = []
        report = botocore.validate.ParamValidator().validate(params, op.input_shape)
        if report.has_errors():
            errors.append(report.generate_report())
        self._walk(op.input_shape, params, "", errors)
        return errors

    def _walk(self, shape, v, where, errors):
        t = shape.type_name
        m = shape._shape_model  # the raw model: .metadata leaves out pattern
        if t == "structure" and isinstance(v, dict):
            for k, x in v.items():
                if k not in shape.members:
                    errors.append(f"{where or '.'}: unknown member {k}")
                    continue
                self._walk(shape.members[k], x, f"{where}.{k}", errors)
        elif t == "list" and isinstance(v, list):
            if "max" in m and len(v) > m["max"]:
                errors.append(f"{where}: {len(v)} items, max {m['max']}")
            for i, x in enumerate(v):
                self._walk(shape.member, x, f"{where}[{i}]", errors)
        elif t == "map" and isinstance(v, dict):
            if "max" in m and len(v) > m["max"]:
                errors.append(f"{where}: {len(v)} entries, max {m['max']}")
            for k, x in v.items():
                self._walk(shape.key, k, f"{where} key {k!r}", errors)
                self._walk(shape.value, x, f"{where}[{k!r}]", errors)
        elif t == "string" and isinstance(v, str):
            if shape.enum and v not in shape.enum:
                errors.append(f"{where}: {v!r} is not one of {shape.enum}")
            if "max" in m and len(v) > m["max"]:
                errors.append(f"{where}: {len(v)} characters, max {m['max']}")
            if "pattern" in m and not _pattern(m["pattern"]).search(v):
                errors.append(f"{where}: {v!r} does not match {m['pattern']}")
            if "pattern" in m and m["pattern"].startswith("^") and m["pattern"].endswith("$"):
                if not _pattern(m["pattern"]).fullmatch(v):
                    errors.append(f"{where}: {v!r} does not match {m['pattern']} whole")
        elif t in ("integer", "long") and isinstance(v, int):
            if "max" in m and v > m["max"]:
                errors.append(f"{where}: {v} > max {m['max']}")


def main():
    model = Model(sys.argv[1])
    with open(sys.argv[3], encoding="utf-8") as f:
        body = json.load(f)
    errors = model.validate(sys.argv[2], body)
    for e in errors:
        print(e, file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
