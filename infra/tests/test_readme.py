"""The README's facts that the repository states elsewhere too: the Rust and
Node.js versions it asks for, the Repository table against the tracked
top-level directories, the parameter table against the SAM template, and the
deploy commands passing on the architecture scripts/build-lambdas.sh built for.
"""

import json
import re
import subprocess
import unittest
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text under `## title`, up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    if not match:
        raise AssertionError(f"the README has no '## {title}' section")
    return match.group(1)


def first_column(text: str, header: str) -> list[str]:
    """The first cells of the table whose header row starts with `| header |`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    cells = []
    for line in lines[start + 2 :]:  # after the header and its |---| row
        if not line.startswith("|"):
            break
        cells.append(line.split("|")[1])
    return cells


def shell_lines(text: str) -> list[str]:
    """The command lines of the ```sh blocks, without comments."""
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
    return [
        line.split(" # ")[0].strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip()
    ]


class ReadmeTest(unittest.TestCase):
    def test_names_the_rust_version_the_workspace_requires(self):
        [required] = re.findall(
            r'^rust-version\s*=\s*"([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M
        )
        named = set(re.findall(r"\bRust (\d+\.\d+(?:\.\d+)?) or later", README))
        self.assertEqual(named, {required}, "the README's Rust version is Cargo.toml's rust-version")

    def test_names_the_node_version_the_cdk_app_requires(self):
        package = json.loads((ROOT / "infra" / "cdk" / "package.json").read_text())
        [major] = re.fullmatch(r">=\s*(\d+)(?:\.0)*", package["engines"]["node"]).groups()
        named = set(re.findall(r"\bNode\.js (\d+) or later", README))
        self.assertEqual(named, {major}, "the README's Node.js version is infra/cdk's engines.node")

    def test_repository_table_lists_every_tracked_top_level_directory_once(self):
        try:
            files = subprocess.run(
                ["git", "-C", str(ROOT), "ls-files", "-z"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split("\0")
        except (OSError, subprocess.CalledProcessError) as e:
            self.skipTest(f"not a git checkout: {e}")
        tracked = {path.split("/", 1)[0] for path in files if "/" in path}
        listed = Counter(
            name
            for cell in first_column(section("Repository"), "path")
            for name in re.findall(r"`([^`/]+)/`", cell)
        )
        self.assertEqual({name for name, n in listed.items() if n > 1}, set(), "listed twice")
        self.assertEqual(set(listed), tracked)

    def test_parameter_table_lists_every_template_parameter(self):
        template = (ROOT / "infra" / "template.yaml").read_text(encoding="utf-8")
        block = re.search(r"^Parameters:\n(.*?)^\S", template, re.M | re.S).group(1)
        parameters = set(re.findall(r"^  (\w+):", block, re.M))
        documented = {
            name
            for cell in first_column(section("Deploy"), "parameter")
            for name in re.findall(r"`(\w+)`", cell)
        }
        self.assertEqual(documented, parameters)

    def test_deploy_commands_pass_on_the_architecture_the_build_chose(self):
        # GIVEN where build-lambdas.sh records the architecture, and where the
        # CDK app (run from infra/cdk) takes the functions from
        recorded = "target/lambda/ARCHITECTURE"
        self.assertRegex(
            (ROOT / "scripts" / "build-lambdas.sh").read_text(), rf">\s*{re.escape(recorded)}\b"
        )
        cdk_dir = ROOT / "infra" / "cdk"
        lambda_dir = json.loads((cdk_dir / "cdk.json").read_text())["context"]["lambdaDir"]
        self.assertEqual((cdk_dir / lambda_dir).resolve(), (ROOT / recorded).parent)

        # WHEN the README deploys
        commands = shell_lines(section("Deploy"))
        sam = [c for c in commands if re.search(r"\bsam deploy\b", c)]
        cdk = [c for c in commands if re.search(r"\bcdk deploy\b", c)]

        # THEN each deploy passes that file on as Architecture, SAM from the
        # repository's root and the CDK from infra/cdk
        self.assertTrue(sam and cdk, "the README shows a sam deploy and a cdk deploy")
        for command in sam:
            self.assertIn(f"--parameter-overrides Architecture=$(cat {recorded})", command)
        for command in cdk:
            self.assertIn(f"--parameters Architecture=$(cat {lambda_dir}/ARCHITECTURE)", command)
        # and nothing runs sam build again after build-lambdas.sh ran it
        self.assertEqual([c for c in commands if re.search(r"\bsam build\b", c)], [])


if __name__ == "__main__":
    unittest.main()
