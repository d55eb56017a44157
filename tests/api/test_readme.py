#!/usr/bin/python3
"""The README's walkthrough, from registration to a paid subscription, run exactly as
written (the shell block after the `walkthrough` marker), and its answer compared with
the one the README shows."""

import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402

README = os.path.join(os.environ.get("abs_top_srcdir", os.path.join(os.path.dirname(__file__), "..", "..")),
                      "README.md")


def blocks():
    """The walkthrough's shell block and the JSON block that shows its answer."""
    text = open(README, encoding="utf-8").read()
    at = text.index("<!-- walkthrough:")
    sh = re.search(r"```sh\n(.*?)```", text[at:], re.S)
    shown = re.search(r"```json\n(.*?)```", text[at + sh.end():], re.S)
    return sh.group(1), shown.group(1)


class Walkthrough(lt.LevyTestCase):
    def test_readme_walkthrough(self):
        script, shown = blocks()
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=d,
                               env=dict(os.environ, LEVY_URL=lt.URL), capture_output=True,
                               text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = json.loads(p.stdout)
        want = json.loads(shown.replace('"sub_..."', '"SUB"'))
        self.assertRegex(got["id"], r"^sub_[0-9A-Za-z]{14,}$")
        got["id"] = "SUB"
        self.assertEqual(got, want)


if __name__ == "__main__":
    lt.main()
