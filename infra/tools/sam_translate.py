"""Translates infra/template.yaml to plain CloudFormation JSON, offline.

cfn-lint no longer expands the SAM transform, so errors inside the functions'
generated resources are found only on this output; moto's CloudFormation
silently drops an untransformed AWS::Serverless::Function, so the deploy test
creates this output instead. Each function's local CodeUri is replaced by
s3://<code bucket>/<function>.zip, as `sam package` would do.

usage: python sam_translate.py TEMPLATE OUT [--code-bucket NAME]
"""

import argparse
import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samcli.yamlhelper import yaml_parse  # noqa: E402
from samtranslator.parser.parser import Parser  # noqa: E402
from samtranslator.translator.translator import Translator  # noqa: E402

DEFAULT_CODE_BUCKET = "rds-log-shipper-artifacts"


def code_key(logical_id: str) -> str:
    """ListerFunction -> lister.zip: the key the deploy test uploads to."""
    return logical_id.removesuffix("Function").lower() + ".zip"


def translate(sam_template: dict, code_bucket: str = DEFAULT_CODE_BUCKET) -> dict:
    for logical_id, resource in sam_template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{code_bucket}/{code_key(logical_id)}"
    translator = Translator(managed_policy_map={}, sam_parser=Parser())
    return translator.translate(sam_template=sam_template, parameter_values={})


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("template")
    args.add_argument("out")
    args.add_argument("--code-bucket", default=DEFAULT_CODE_BUCKET)
    opts = args.parse_args()
    with open(opts.template, encoding="utf-8") as f:
        sam_template = yaml_parse(f.read())
    cfn = translate(sam_template, opts.code_bucket)
    os.makedirs(os.path.dirname(os.path.abspath(opts.out)), exist_ok=True)
    with open(opts.out, "w", encoding="utf-8") as f:
        json.dump(cfn, f, indent=1, sort_keys=True)
    print(f"translated {opts.template} -> {opts.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
