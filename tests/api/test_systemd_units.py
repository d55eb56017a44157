#!/usr/bin/python3
"""The systemd units `make install` writes (contrib/systemd): the README tells users to enable
them, so they are checked as systemd reads them, and their commands are run.

systemd-analyze verify (Debian's systemd) loads every unit: the built services (bindir and
sysconfdir filled in by make), the timers and the socket, with ExecStart pointed at this build's
binaries instead of the configured bindir.  Verification must pass with nothing to say.  Each
timer starts the service of its name; each job service runs `levy -c CONF jobs JOB`, a job
`levy help` lists, and that very command, run against this stack's levy.conf, succeeds and
prints its summary.
"""

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402

SRC = os.environ.get("abs_top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("abs_top_builddir", ".")
BUILT = ("levy", "levy-fcgi")


def units():
    """name -> path: the built services, and the timers and socket as shipped."""
    found = {}
    for path in glob.glob(os.path.join(BUILD, "contrib", "systemd", "*.service")):
        found[os.path.basename(path)] = path
    for pattern in ("*.timer", "*.socket"):
        for path in glob.glob(os.path.join(SRC, "contrib", "systemd", pattern)):
            found[os.path.basename(path)] = path
    return found


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def setting(text, key):
    return [m.group(1).strip() for m in re.finditer(r"(?m)^%s=(.*)$" % re.escape(key), text)]


class SystemdUnits(lt.LevyTestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("systemd-analyze") is None:
            if os.environ.get("CI"):
                raise AssertionError("systemd-analyze is missing (apt-get install systemd)")
            raise unittest.SkipTest("systemd-analyze is not installed")
        cls.units = units()

    def test_every_unit_the_readme_names_is_built(self):
        self.assertEqual(sorted(self.units), sorted([
            "levy-expire-incomplete.service", "levy-expire-incomplete.timer",
            "levy-fcgi.service", "levy-fcgi.socket",
            "levy-renew.service", "levy-renew.timer",
            "levy-retry-payments.service", "levy-retry-payments.timer"]))
        readme = read(os.path.join(SRC, "README.md"))
        for name in self.units:
            if name.endswith(".timer"):
                self.assertIn("systemctl enable --now %s" % name, readme)

    def test_systemd_accepts_them(self):
        with tempfile.TemporaryDirectory() as d:
            for name, path in self.units.items():
                text = read(path)
                # make writes the units from their .in files: every @VAR@ is replaced.
                self.assertNotIn("@", text, "%s: an @VAR@ of its .in file was not substituted"
                                 % name)
                for line in setting(text, "ExecStart"):
                    cmd = shlex.split(line)[0]
                    self.assertIn(os.path.basename(cmd), BUILT, line)
                    text = text.replace("ExecStart=" + cmd, "ExecStart=" + os.path.join(
                        BUILD, os.path.basename(cmd)))
                with open(os.path.join(d, name), "w", encoding="utf-8") as f:
                    f.write(text)
            p = subprocess.run(["systemd-analyze", "verify", "--man=no"] + sorted(self.units),
                               cwd=d, capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"))
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))

    def test_timers_start_their_jobs_and_the_jobs_run(self):
        timers = [n for n in self.units if n.endswith(".timer")]
        self.assertEqual(len(timers), 3)
        listed = lt.levy_cli("help")
        for timer in timers:
            with self.subTest(timer=timer):
                text = read(self.units[timer])
                self.assertTrue(setting(text, "OnCalendar") or setting(text, "OnUnitActiveSec"),
                                timer)
                self.assertEqual(setting(text, "WantedBy"), ["timers.target"])
                service = (setting(text, "Unit") or [timer[:-len(".timer")] + ".service"])[0]
                self.assertIn(service, self.units)
                stext = read(self.units[service])
                self.assertEqual(setting(stext, "Type"), ["oneshot"])
                argv = shlex.split(setting(stext, "ExecStart")[0])
                self.assertEqual(os.path.basename(argv[0]), "levy")
                self.assertEqual((argv[1], argv[3]), ("-c", "jobs"))
                job = argv[4]
                self.assertIn("jobs %s [--limit N]" % job, listed.stdout + listed.stderr)
                # The unit's own command, with this stack's configuration.
                p = subprocess.run([lt.LEVY_BIN, "-c", lt.LEVY_CONF] + argv[3:],
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertRegex(p.stdout, r"^(expired|renewed|retried) \d+ ")


if __name__ == "__main__":
    lt.main()
