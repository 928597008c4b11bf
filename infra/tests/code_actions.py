"""Which AWS actions each deployed function's code calls, read from the Rust
source, so the policy test notices when the code and the roles drift apart.

How it reads the code: a function's handler files (FUNCTIONS) reach the
outside world only through port fields (PORTS: `self.state.get(..)`,
`queue.send_batch(..)`). Each port method called there leads to its
implementations (`impl FileStates for ...`), and from them, within the same
module (a file, or a folder's `mod.rs` with the files beside it, where a
type's methods may be split: `sink/s3/stale.rs`), to the helpers they call. Every SDK operation named in the reached code
(`.update_item()`, for the SDK crates the file uses) is an action; so is each
raw AWS call (RAW_CALLS). An entry file's own SDK calls count too, for the
crates it names. Tests (`#[cfg(test)]`) and comments are not code.

Besides the two functions, the operator commands of `rdslogs` are read the
same way; their actions make the stack's OperatorPolicy.

When the code changes shape, this block is the one place to update.
"""

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Where each deployed function's handler code lives (files or folders), and
# the operator commands' code: what OperatorPolicy must allow.
FUNCTIONS = {
    "lister": [
        "shipper/src/lister",
        "shipper/src/fleet.rs",
        "shipper/src/queue/mod.rs",
        "shipper/src/enqueue.rs",
        # The daily manifests, written after each cycle.
        "shipper/src/manifest/mod.rs",
        "shipper/src/manifest/writer.rs",
        "shipper/src/sink/s3/manifests.rs",
        "shipper/src/sink/s3/manifest_write.rs",
    ],
    "worker": [
        "shipper/src/worker.rs",
        "shipper/src/worker/body.rs",
        "shipper/src/worker/batch.rs",
    ],
    # `rdslogs dlq`, `status`, `backfill` and `snapshot`: the CLI's command
    # files and the operator logic they call (not its SQS and RDS adapters,
    # which are reached through their ports). Not `setup`, `list-once` and
    # `work` (cli/src/main.rs, work.rs): local and development commands that
    # create resources or act as the functions.
    # `rdslogs doctor` makes its SDK calls directly (operator/doctor/aws.rs),
    # as `--stack` does (operator/stack.rs).
    "operator": [
        "cli/src/doctor.rs",
        "shipper/src/operator/doctor",
        "shipper/src/operator/stack.rs",
        "cli/src/verify.rs",
        "shipper/src/operator/verify",
        "shipper/src/sink/s3/archive.rs",
        # verify --manifests reads the chains.
        "shipper/src/manifest/walk.rs",
        "shipper/src/manifest/check.rs",
        "shipper/src/sink/s3/manifests.rs",
        "cli/src/dlq.rs",
        "cli/src/status.rs",
        "cli/src/backfill.rs",
        "cli/src/snapshot.rs",
        "shipper/src/operator/mod.rs",
        "shipper/src/operator/dlq/mod.rs",
        "shipper/src/operator/dlq/entry.rs",
        "shipper/src/operator/backfill.rs",
        "shipper/src/operator/status.rs",
        "shipper/src/operator/snapshot/mod.rs",
        "shipper/src/queue/mod.rs",
        "shipper/src/enqueue.rs",
    ],
}
# Handler field (or variable) name -> the port traits it holds.
PORTS = {
    "state": ("FileStates", "CycleRecords", "StateScan"),
    "queue": "WorkQueue",
    "work": "WorkQueue",
    "catalog": "LogCatalog",
    "source": "LogSource",
    "sink": "ObjectSink",
    "dlq": "ReceivingQueue",
    "service": "SnapshotService",
    "archive": "ArchiveObjects",
}
# Where the port traits and their implementations live.
ADAPTER_ROOT = "shipper/src"
# SDK operations whose IAM actions have other names, or that need more than
# one action (service -> operation -> action or list of actions).
OPERATION_ACTIONS = {
    "s3": {
        # Reading a key that may be missing: without s3:ListBucket on the
        # bucket S3 answers 403 AccessDenied instead of 404 (API_HeadObject,
        # API_GetObject, "Permissions"), and the worker's "not shipped yet"
        # would be a denial.
        "head_object": ["GetObject", "ListBucket"],
        "get_object": ["GetObject", "ListBucket"],
        "create_multipart_upload": "PutObject",
        "upload_part": "PutObject",
        "complete_multipart_upload": "PutObject",
        "list_multipart_uploads": "ListBucketMultipartUploads",
        "head_bucket": "ListBucket",
        # `rdslogs verify` lists a damaged key's versions, then reads each
        # with HeadObject and its versionId, which is s3:GetObjectVersion
        # (sink/s3/archive.rs does both, always together).
        "list_object_versions": ["ListBucketVersions", "GetObjectVersion"],
    },
    "sqs": {
        "send_message_batch": "SendMessage",
        "delete_message_batch": "DeleteMessage",
        "change_message_visibility_batch": "ChangeMessageVisibility",
    },
    "rds": {
        # Tags given at creation are authorized as rds:AddTagsToResource too
        # (RDS user guide, "Grant permission to tag ... during creation");
        # `rdslogs snapshot` always tags.
        "create_db_snapshot": ["CreateDBSnapshot", "AddTagsToResource"],
        "create_db_cluster_snapshot": ["CreateDBClusterSnapshot", "AddTagsToResource"],
    },
}
# AWS calls made without the SDK: a string in the reached code -> its action.
# The /v13/ path stops working on 2027-03-01; the code must use /v19/.
RAW_CALLS = {"/v19/downloadCompleteLogFile/": "rds:DownloadCompleteDBLogFile"}
# What Lambda itself does with the function's role, which no code calls.
PLATFORM = {
    "lister": {"logs:CreateLogStream", "logs:PutLogEvents"},
    # The SQS event source mapping polls and deletes as the function's role.
    "worker": {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    },
    "operator": set(),
}
# Actions another service calls as the function's role when a stack setting
# asks for it, and no code calls: granted only under that template condition
# (function -> condition -> actions).
CONDITIONAL = {
    # S3 asks KMS as the lister for each manifest it writes or reads back.
    "lister": {"UseBucketKmsKey": {"kms:GenerateDataKey", "kms:Decrypt"}},
    "worker": {
        # Granted only when BucketKmsKeyArn is set: S3 asks KMS for a data key
        # as the worker for each object and multipart upload it writes into an
        # SSE-KMS bucket, and to decrypt for each part (API_CreateMultipartUpload,
        # "Permissions"). The worker sends no encryption headers itself.
        "UseBucketKmsKey": {"kms:GenerateDataKey", "kms:Decrypt"},
    },
}
# Actions IAM accepts only on Resource "*" (see the worker role's comment).
WITHOUT_RESOURCE_SCOPE = {"rds:DownloadCompleteDBLogFile"}


def operation_actions(service: str, op: str) -> list[str]:
    """The IAM actions (`service:Name`) an SDK operation needs."""
    names = OPERATION_ACTIONS.get(service, {}).get(op, op)
    return [f"{service}:{n}" for n in ([names] if isinstance(names, str) else names)]


def action_key(action: str) -> str:
    """IAM compares action names case-insensitively; SDK names are snake_case."""
    service, name = action.split(":")
    return f"{service}:{name.replace('_', '').lower()}"


def strip_comments_and_tests(source: str) -> str:
    """The code as compiled outside tests: no comments, no #[cfg(test)] items,
    no braces in string or char literals. Strings are kept otherwise (RAW_CALLS
    looks into them)."""
    out, i, n = [], 0, len(source)
    while i < n:
        c = source[i]
        if source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
        elif source.startswith("/*", i):
            i = source.find("*/", i + 2) + 2
        elif (raw := re.match(r'r(#*)"', source[i : i + 8])) and not re.match(r"\w", source[i - 1 : i]):
            end = source.find('"' + raw.group(1), i + len(raw.group(0))) + 1 + len(raw.group(1))
            out.append(re.sub(r"[{}]", "_", source[i:end]))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and source[j] != '"':
                j += 2 if source[j] == "\\" else 1
            # Braces in strings ("{}" in format!) are no blocks.
            out.append(re.sub(r"[{}]", "_", source[i : j + 1]))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", source[i : i + 4]):
            m = re.match(r"'(\\.|[^\\'])'", source[i : i + 4])
            out.append("'_'")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    code = "".join(out)
    while (m := re.search(r"#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*\{", code)):
        code = code[: m.start()] + code[block_end(code, m.end() - 1) :]
    return code


def block_end(code: str, open_brace: int) -> int:
    depth = 0
    for i in range(open_brace, len(code)):
        if code[i] == "{":
            depth += 1
        elif code[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    raise ValueError("unbalanced braces")


@dataclass
class Fn:
    name: str
    body: str
    trait: str | None  # the trait this fn implements, if any
    inherent: bool  # a method of an `impl Type` block


def functions(code: str) -> list[Fn]:
    blocks = []  # (start, end, trait or None, is impl)
    for m in re.finditer(r"\bimpl\b(?:\s*<[^{]*?>)?\s+([\w:]+)(?:<[^{]*?>)?(\s+for\s+[\w:<>, ]+)?\s*\{", code):
        trait = m.group(1).split("::")[-1] if m.group(2) else None
        blocks.append((m.end() - 1, block_end(code, m.end() - 1), trait))
    found = []
    for m in re.finditer(r"\bfn\s+(\w+)", code):
        depth, i = 0, m.end()
        while i < len(code) and not (depth == 0 and code[i] in "{;"):
            depth += code[i] in "(<[" and 1 or 0
            depth -= code[i] in ")>]" and code[i - 1] != "-" and 1 or 0
            i += 1
        if i >= len(code) or code[i] == ";":
            continue  # a declaration without a body
        owner = [b for b in blocks if b[0] < m.start() < b[1]]
        trait = owner[-1][2] if owner else None
        inherent = bool(owner) and trait is None
        found.append(Fn(m.group(1), code[i : block_end(code, i)], trait, inherent))
    return found


@dataclass
class SourceFile:
    path: str
    code: str
    services: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, path: Path) -> "SourceFile":
        code = strip_comments_and_tests(path.read_text(encoding="utf-8"))
        services = set(re.findall(r"\baws_sdk_(\w+)", code))
        return cls(str(path.relative_to(ROOT)), code, services)


def sdk_operations(services) -> dict[str, set[str]]:
    """Each SDK crate's operations, from its source (the version in Cargo.lock)."""
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    ops = {}
    for package in meta["packages"]:
        service = package["name"].removeprefix("aws-sdk-")
        if package["name"].startswith("aws-sdk-") and service in services:
            folder = Path(package["manifest_path"]).parent / "src" / "operation"
            ops[service] = {p.name for p in folder.iterdir() if p.is_dir()}
    return ops


def test_module_files(path: Path) -> set[Path]:
    """The files of the `#[cfg(test)] mod name;` declarations in `path`."""
    text = path.read_text(encoding="utf-8")
    folder = path.parent if path.name in ("mod.rs", "lib.rs", "main.rs") else path.with_suffix("")
    found = set()
    for name in re.findall(r"#\[cfg\(test\)\]\s*(?:pub\s+)?mod\s+(\w+)\s*;", text):
        found |= {folder / f"{name}.rs", folder / name / "mod.rs"}
    return found


def files_under(paths) -> list[Path]:
    """The .rs files of these files and folders, without test modules."""
    out = []
    for p in paths:
        p = ROOT / p
        out.extend(sorted(p.rglob("*.rs")) if p.is_dir() else [p])
    tests = set().union(*(test_module_files(f) for f in out))
    return [f for f in out if f not in tests and not any(t.with_suffix("") in f.parents for t in tests)]


def port_calls(handler_code: str) -> set[tuple[str, str]]:
    """(trait, method) for every `port.method(` call, across line breaks."""
    calls = set()
    for m in re.finditer(r"\b(\w+)\s*\.\s*(\w+)\s*\(", handler_code):
        traits = PORTS.get(m.group(1), ())
        for trait in (traits,) if isinstance(traits, str) else traits:
            calls.add((trait, m.group(2)))
    return calls


def reached_actions(entry_calls, adapter_files: list[SourceFile], operations) -> dict[str, set[str]]:
    """Action -> the places that call it, from the port methods called."""
    actions: dict[str, set[str]] = {}
    for f in adapter_files:
        fns = functions(f.code)
        todo = [fn for fn in fns if (fn.trait, fn.name) in entry_calls]
        seen = set()
        while todo:
            fn = todo.pop()
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            for service in f.services & set(operations):
                for op in re.findall(r"\.\s*(\w+)\s*\(", fn.body):
                    if op in operations[service]:
                        for action in operation_actions(service, op):
                            actions.setdefault(action_key(action), set()).add(f"{f.path}::{fn.name} {op}")
            for marker, action in RAW_CALLS.items():
                if marker in fn.body:
                    actions.setdefault(action_key(action), set()).add(f"{f.path}::{fn.name}")
            for other in fns:
                if other is fn:
                    continue
                own = rf"(?:\bself\s*\.\s*|\bSelf::){other.name}\s*\("
                method = rf"\.\s*{other.name}\s*\(" if other.inherent else None
                free = rf"(?<![\w.:]){other.name}\s*\(" if not other.inherent and other.trait is None else None
                if any(p and re.search(p, fn.body) for p in (own, method, free)):
                    todo.append(other)
    return actions


def module_units(files: list[SourceFile]) -> list[SourceFile]:
    """The files read as one module: a folder with a `mod.rs` (its methods
    may sit in the files beside it, `impl S3Sink` in `sink/s3/stale.rs`) is
    one unit; any other file is its own."""
    units: dict[str, list[SourceFile]] = {}
    for f in files:
        folder = Path(f.path).parent
        key = str(folder) if (ROOT / folder / "mod.rs").exists() else f.path
        units.setdefault(key, []).append(f)
    return [
        SourceFile(key, "\n".join(f.code for f in group), set().union(*(f.services for f in group)))
        for key, group in units.items()
    ]


def direct_actions(entry_files: list[SourceFile], operations) -> dict[str, set[str]]:
    """Action -> the places that call it, for SDK calls an entry file makes
    itself (not through a port), on the SDK crates it names."""
    actions: dict[str, set[str]] = {}
    for f in entry_files:
        for service in f.services & set(operations):
            for op in re.findall(r"\.\s*(\w+)\s*\(", f.code):
                if op in operations[service]:
                    for action in operation_actions(service, op):
                        actions.setdefault(action_key(action), set()).add(f"{f.path} {op}")
    return actions


def code_actions() -> dict[str, dict[str, set[str]]]:
    """For each deployed function and the operator: action key -> where the
    code calls it."""
    adapters = module_units([SourceFile.read(p) for p in files_under([ADAPTER_ROOT])])
    entries = {function: [SourceFile.read(p) for p in files_under(paths)] for function, paths in FUNCTIONS.items()}
    services = set().union(*(f.services for f in adapters), *(f.services for fs in entries.values() for f in fs))
    operations = sdk_operations(services)
    result = {}
    for function, files in entries.items():
        handler = "\n".join(f.code for f in files)
        actions = reached_actions(port_calls(handler), adapters, operations)
        for action, places in direct_actions(files, operations).items():
            actions.setdefault(action, set()).update(places)
        result[function] = actions
    return result
