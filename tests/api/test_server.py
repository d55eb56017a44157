#!/usr/bin/python3
"""levy-fcgi's process model, against the running stack (tests/harness/with-stack):

- kill -9 of a worker during a burst: the master replaces it, no request fails;
- SIGHUP during a burst: every request answers, every worker is replaced, same master;
- PostgreSQL restarted: requests succeed again without restarting levy, no worker dies;
- SIGTERM with requests in flight: each completes, the master exits 0 and cleans up;
- max_requests, an inherited socket (fd:0) and systemd socket activation;
- it refuses to start as a superuser, a BYPASSRLS role or a table owner;
- -t, -l, -w, -c and LEVY_CONF, and config errors (exit 2 naming file, line, setting).

The stop, recycling and listen tests run their own levy-fcgi on another socket and talk
FastCGI to it directly (a small client below), so the shared one keeps serving.
"""

import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
from levytest import LOGIN, VERIFY, LevyTestCase  # noqa: E402

RUN = os.environ.get("LEVY_RUN", "")
FCGI_BIN = os.environ.get("LEVY_FCGI_BIN", "")
PIDFILE = os.environ.get("LEVY_FCGI_PIDFILE", "")
STACKCTL = os.environ.get("LEVY_STACKCTL") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness", "stackctl")
# Unix socket paths are limited to 107 bytes: put ours beside the stack's.
SOCKDIR = os.path.dirname(os.environ.get("LEVY_FCGI_SOCK", "")) or os.environ.get("LEVY_PG_SOCKDIR", RUN)


# --------------------------------------------------------------------------
# Processes


def proc_children(pid):
    """Live (non-zombie) children of pid, from /proc."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat.rsplit(")", 1)[1].split()
        if int(rest[1]) == pid and rest[0] != "Z":
            out.append(int(d))
    return sorted(out)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def master_pid():
    with open(PIDFILE, encoding="ascii") as f:
        return int(f.read().strip())


def conf_workers(text=None):
    m = re.search(r"^\s*workers\s*[=:]\s*(\d+)", text if text is not None else lt.conf_text(), re.M)
    return int(m.group(1)) if m else 4


def wait_for(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


# --------------------------------------------------------------------------
# A minimal FastCGI client (the web server's side), for our own levy-fcgi.


def _fcgi_record(rtype, content, rid=1):
    pad = (8 - len(content) % 8) % 8
    return struct.pack("!BBHHBB", 1, rtype, rid, len(content), pad, 0) + content + b"\0" * pad


def _fcgi_pair(name, value):
    out = b""
    for s in (name, value):
        out += bytes([len(s)]) if len(s) < 128 else struct.pack("!I", len(s) | 0x80000000)
    return out + name + value


def fcgi_request(sock_path, method, path, body=b"", dribble=0.0, timeout=60, headers=None):
    """One request: (status, {header: value}, body bytes).  Raises on a cut-off response.

    dribble > 0 sends the body one byte per STDIN record, sleeping that long between
    them, so that the request stays in the worker's hands for len(body) * dribble s.
    """
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
           "REQUEST_URI": path, "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1",
           "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000", "SERVER_NAME": "localhost",
           "SERVER_PORT": "80", "CONTENT_LENGTH": str(len(body)) if body else ""}
    if body:
        env["CONTENT_TYPE"] = "application/json"
    for k, v in (headers or {}).items():
        env["HTTP_" + k.upper().replace("-", "_")] = v
    if isinstance(sock_path, tuple):  # (host, port)
        s = socket.create_connection(sock_path, timeout=timeout)
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if not isinstance(sock_path, tuple):
            s.connect(sock_path)
        params = b"".join(_fcgi_pair(k.encode(), v.encode()) for k, v in env.items())
        s.sendall(_fcgi_record(1, struct.pack("!HB5x", 1, 0)) + _fcgi_record(4, params)
                  + _fcgi_record(4, b""))
        if body and dribble > 0:
            for i in range(len(body)):
                s.sendall(_fcgi_record(5, body[i:i + 1]))
                time.sleep(dribble)
        elif body:
            s.sendall(_fcgi_record(5, body))
        s.sendall(_fcgi_record(5, b""))
        out, buf = b"", b""
        while True:
            while len(buf) < 8:
                d = s.recv(65536)
                if not d:
                    raise ConnectionError("connection closed before FCGI_END_REQUEST")
                buf += d
            _, rtype, _, clen, pad, _ = struct.unpack("!BBHHBB", buf[:8])
            while len(buf) < 8 + clen + pad:
                d = s.recv(65536)
                if not d:
                    raise ConnectionError("connection closed inside a record")
                buf += d
            content, buf = buf[8:8 + clen], buf[8 + clen + pad:]
            if rtype == 6:
                out += content
            elif rtype == 3:
                break
    finally:
        s.close()
    head, sep, data = out.partition(b"\r\n\r\n")
    if not sep:
        raise ConnectionError("no header/body separator in %r" % out[:200])
    hdrs, status = {}, 200
    for line in head.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if "status" in hdrs:
        status = int(hdrs["status"].split()[0])
    return status, hdrs, data


class Extra:
    """A levy-fcgi of our own, in a session of its own (so that cleanup can sweep it)."""

    def __init__(self, tc, name, args=(), conf=None, stdin=None, wrap=None, env=None):
        self.sock = os.path.join(SOCKDIR, "%s.sock" % name)
        self.pidfile = os.path.join(RUN, "%s.pid" % name)
        self.logpath = os.path.join(RUN, "%s.log" % name)
        for p in (self.pidfile,):
            if os.path.exists(p):
                os.unlink(p)
        cmd = [FCGI_BIN, "-c", conf or lt.LEVY_CONF, "-p", self.pidfile] + list(args)
        if wrap:
            cmd = wrap + cmd
        with open(self.logpath, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                         env=env)
        tc.addCleanup(self.kill)
        self.tc = tc

    def log(self):
        with open(self.logpath, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_ready(self, sock=True):
        ok = wait_for(lambda: os.path.exists(self.pidfile) and (not sock or os.path.exists(self.sock))
                      or self.proc.poll() is not None, 15)
        self.tc.assertTrue(ok and self.proc.poll() is None,
                           "levy-fcgi did not start (status %r): %s" % (self.proc.poll(), self.log()))
        with open(self.pidfile, encoding="ascii") as f:
            self.tc.assertEqual(int(f.read().strip()), self.proc.pid, "pid file content")

    def workers(self):
        return proc_children(self.proc.pid)

    def stop(self, timeout=60):
        os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        else:
            # Workers of a master that died are in its session too.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def run_fcgi(args, conf=None, env=None, timeout=60):
    """levy-fcgi ARGS to completion -> CompletedProcess (text)."""
    cmd = [FCGI_BIN] + (["-c", conf] if conf else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


def conf_with(text_changes, name):
    """A copy of LEVY_CONF with regex substitutions [(pattern, repl)] or appended lines."""
    text = lt.conf_text()
    for pat, repl in text_changes:
        if pat is None:
            text += "\n" + repl + "\n"
            continue
        text, n = re.subn(pat, lambda _m, r=repl: r, text, count=1, flags=re.M)
        if n != 1:
            raise AssertionError("pattern %r not in %s" % (pat, lt.LEVY_CONF))
    path = os.path.join(RUN, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path


# The database conninfo, not owner_conninfo.
CONNINFO_RE = r'(?<![A-Za-z0-9_])conninfo\s*[=:]\s*"(?:[^"\\]|\\.)*"'


# --------------------------------------------------------------------------
# Bursts of concurrent requests through nginx


class Burst:
    """threads x each requests of GET verify without a key, every answer recorded.

    pause()/resume() hold the threads between two requests, so that a test can act
    while no request is in flight.
    """

    def __init__(self, threads=8, each=50):
        self.cond = threading.Condition()
        self.inflight = 0
        self.done = 0
        self.paused = False
        self.results = []
        self.total = threads * each
        self.threads = [threading.Thread(target=self._run, args=(each,), daemon=True)
                        for _ in range(threads)]

    def _one(self):
        try:
            st, h, obj = lt.get(VERIFY, timeout=60)
            return (st, (obj.get("error") or {}).get("type"))
        except Exception as e:  # noqa: BLE001 - recorded, then asserted on
            return ("exception", repr(e)[:300])

    def _run(self, each):
        for _ in range(each):
            with self.cond:
                while self.paused:
                    self.cond.wait()
                self.inflight += 1
            r = self._one()
            with self.cond:
                self.inflight -= 1
                self.done += 1
                self.results.append(r)
                self.cond.notify_all()

    def start(self):
        for t in self.threads:
            t.start()

    def wait_done(self, n, timeout=120):
        with self.cond:
            return self.cond.wait_for(lambda: self.done >= n, timeout)

    def pause(self, timeout=60):
        with self.cond:
            self.paused = True
            return self.cond.wait_for(lambda: self.inflight == 0, timeout)

    def resume(self):
        with self.cond:
            self.paused = False
            self.cond.notify_all()

    def join(self, timeout=300):
        for t in self.threads:
            t.join(timeout)
        return not any(t.is_alive() for t in self.threads)

    def failures(self):
        return [r for r in self.results if r != (401, "authentication_error")]


class Server(LevyTestCase):
    def setUp(self):
        self.master = master_pid()
        self.n = conf_workers()
        self.assertTrue(wait_for(lambda: len(proc_children(self.master)) == self.n, 10),
                        "expected %d workers, have %r" % (self.n, proc_children(self.master)))

    def tearDown(self):
        self.assertEqual(master_pid(), self.master, "the master changed")
        self.assertTrue(alive(self.master), "the master died")

    # -- the shared stack ----------------------------------------------------------

    def test_kill9_worker_during_burst(self):
        before = proc_children(self.master)
        b = Burst(8, 50)
        b.start()
        self.assertTrue(b.wait_done(100), "the burst stalled")
        # SIGKILL loses whatever request the worker holds, by definition; killing it
        # between two requests shows that nothing else is lost while it is replaced.
        self.assertTrue(b.pause(), "requests did not complete")
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        b.resume()
        self.assertTrue(b.join(), "the burst did not finish")
        self.assertEqual(len(b.results), b.total)
        self.assertEqual(b.failures(), [], "every request answers 401 JSON")

        def replaced():
            now = proc_children(self.master)
            return len(now) == self.n and victim not in now and set(now) - set(before)

        self.assertTrue(wait_for(replaced, 10), "not replaced: %r -> %r"
                        % (before, proc_children(self.master)))
        for _ in range(3 * self.n):
            self.assertError(lt.get(VERIFY), 401, "authentication_error")
        self.assertFalse(alive(victim))

    def test_kill9_worker_while_requests_flow(self):
        # The drill as it reads: SIGKILL lands while the burst runs.  The
        # request the worker held (at most one per worker killed) ends as nginx's
        # JSON 502; every other request answers, and the pool is whole again.
        before = proc_children(self.master)
        b = Burst(8, 60)
        b.start()
        self.assertTrue(b.wait_done(80), "the burst stalled")
        victim = before[-1]
        os.kill(victim, signal.SIGKILL)
        self.assertTrue(b.join(), "the burst did not finish")
        self.assertEqual(len(b.results), b.total)
        failures = b.failures()
        self.assertLessEqual(len(failures), 1, failures)
        for f in failures:
            self.assertEqual(f, (502, "api_error"), "a lost request is nginx's JSON 502")

        def replaced():
            now = proc_children(self.master)
            return len(now) == self.n and victim not in now

        self.assertTrue(wait_for(replaced, 10), "not replaced: %r -> %r"
                        % (before, proc_children(self.master)))
        for _ in range(3 * self.n):
            self.assertError(lt.get(VERIFY), 401, "authentication_error")

    def test_sighup_during_burst(self):
        before = proc_children(self.master)
        b = Burst(8, 50)
        b.start()
        self.assertTrue(b.wait_done(60), "the burst stalled")
        os.kill(self.master, signal.SIGHUP)
        self.assertTrue(b.wait_done(200), "the burst stalled after SIGHUP")
        # A second reload while the first may still be rolling.
        os.kill(self.master, signal.SIGHUP)
        self.assertTrue(b.join(), "the burst did not finish")
        self.assertEqual(len(b.results), b.total)
        self.assertEqual(b.failures(), [], "no request refused or cut off during reloads")

        def all_new():
            now = proc_children(self.master)
            return len(now) == self.n and not set(now) & set(before)

        self.assertTrue(wait_for(all_new, 20), "workers not all replaced: %r -> %r"
                        % (before, proc_children(self.master)))
        for p in before:
            self.assertTrue(wait_for(lambda p=p: not alive(p), 10), "old worker %d still alive" % p)
        self.assertEqual(master_pid(), self.master)
        self.assertError(lt.get(VERIFY), 401, "authentication_error")

    def test_sighup_with_bad_config_keeps_serving(self):
        # A reload that fails must keep the old configuration and its workers.
        def log():
            with open(os.environ["LEVY_FCGI_LOG"], encoding="utf-8", errors="replace") as f:
                return f.read()

        def refusals():
            return log().count("keeping the running configuration")

        def replaced():
            text = log()
            return "reload done" in text[text.rfind("configuration reloaded: replacing"):]

        # An earlier test's reload may still be replacing workers one by one: let it finish.
        self.assertTrue(wait_for(lambda: "configuration reloaded" not in log() or replaced(), 30),
                        "an earlier reload did not finish")
        before = proc_children(self.master)
        text = lt.conf_text()
        good = os.stat(lt.LEVY_CONF)

        n0 = refusals()
        try:
            with open(lt.LEVY_CONF, "a", encoding="utf-8") as f:
                f.write("\nno_such_setting = 1;\n")
            os.kill(self.master, signal.SIGHUP)
            self.assertTrue(wait_for(lambda: refusals() > n0, 10), "the bad reload was not logged")
        finally:
            with open(lt.LEVY_CONF, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(lt.LEVY_CONF, good.st_mode & 0o777)
        time.sleep(0.5)
        self.assertEqual(proc_children(self.master), before, "workers replaced after a bad reload")
        self.assertError(lt.get(VERIFY), 401, "authentication_error")

    def test_postgres_restart(self):
        def attempt():
            st, h, obj = lt.post(LOGIN, {"email": lt.unique_email("nobody"), "password": "Wrong-Pass-1234"})
            return st, h, obj

        # Give every worker a connection first (lazy), so the restart breaks them.
        for _ in range(4 * self.n):
            self.assertError(attempt(), 401, "authentication_error")
        before = proc_children(self.master)
        p = subprocess.run([STACKCTL, "pg-restart"], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, "stackctl pg-restart: %s" % p.stderr)

        statuses, streak = [], 0
        for _ in range(40):
            st, h, obj = attempt()
            statuses.append(st)
            if st == 503:
                streak = 0
                self.assertEqual(obj["error"]["type"], "api_error", obj)
                self.assertTrue(h.get("Retry-After", "").isdigit(), "503 without Retry-After: %r" % dict(h))
            else:
                self.assertEqual(st, 401, obj)
                self.assertEqual(obj["error"]["type"], "authentication_error")
                streak += 1
                if streak >= 3 * self.n:
                    break
        sys.stderr.write("after pg-restart: %r ... " % statuses)
        self.assertGreaterEqual(streak, 3 * self.n, "requests did not recover: %r" % statuses)
        # Each worker meets its broken connection once at most; the next request reconnects.
        self.assertLessEqual(statuses.count(503), self.n, statuses)
        self.assertEqual(proc_children(self.master), before, "a worker died or was replaced")

    # -- a levy-fcgi of our own -------------------------------------------------------

    def test_sigterm_is_graceful(self):
        ex = Extra(self, "graceful", ["-l", "unix:%s" % os.path.join(SOCKDIR, "graceful.sock"), "-w", "3"])
        ex.wait_ready()
        self.assertTrue(wait_for(lambda: len(ex.workers()) == 3, 10), ex.log())
        self.assertEqual(os.stat(ex.sock).st_mode & 0o777, 0o660, "socket_mode")
        body = ('{"email": "%s", "password": "Wrong-Pass-1234"}' % lt.unique_email("slow")).encode()
        results, done_at = [None, None], [0.0, 0.0]

        def slow(i):
            try:
                results[i] = fcgi_request(ex.sock, "POST", LOGIN, body, dribble=0.03)
            except Exception as e:  # noqa: BLE001
                results[i] = repr(e)
            done_at[i] = time.monotonic()

        threads = [threading.Thread(target=slow, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.6)  # both requests are now in workers' hands, their bodies arriving
        term_at = time.monotonic()
        os.kill(ex.proc.pid, signal.SIGTERM)
        for t in threads:
            t.join(60)
        for i, r in enumerate(results):
            self.assertIsInstance(r, tuple, "request %d cut off: %r\n%s" % (i, r, ex.log()))
            st, h, data = r
            self.assertEqual(st, 401, data)
            self.assertIn('"authentication_error"', data.decode())
            self.assertTrue(h.get("content-type", "").startswith("application/json"), h)
            self.assertGreater(done_at[i], term_at + 0.3, "the request was not in flight at SIGTERM")
        self.assertEqual(ex.proc.wait(timeout=60), 0, ex.log())
        self.assertFalse(os.path.exists(ex.pidfile), "pid file left behind")
        self.assertFalse(os.path.exists(ex.sock), "socket left behind")
        self.assertEqual(ex.workers(), [])

    def test_max_requests_recycles_workers(self):
        conf = conf_with([(r"^\s*max_requests\s*=.*$", "max_requests = 3;")
                          if re.search(r"^\s*max_requests\s*=", lt.conf_text(), re.M)
                          else (None, "max_requests = 3;")], "recycle.conf")
        ex = Extra(self, "recycle", ["-l", "unix:%s" % os.path.join(SOCKDIR, "recycle.sock"), "-w", "1"],
                   conf=conf)
        ex.wait_ready()
        seen = set()
        for _ in range(12):
            st, h, data = fcgi_request(ex.sock, "GET", VERIFY)
            self.assertEqual(st, 401, data)
            seen.update(ex.workers())
        self.assertTrue(wait_for(lambda: len(ex.workers()) == 1, 10))
        seen.update(ex.workers())
        self.assertGreaterEqual(len(seen), 4, "12 requests at max_requests 3: %r" % seen)
        self.assertIn("max_requests", ex.log())
        self.assertEqual(ex.stop(), 0, ex.log())

    def test_inherited_socket_fd0(self):
        path = os.path.join(SOCKDIR, "inherit.sock")
        if os.path.exists(path):
            os.unlink(path)
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)
        ls.listen(16)
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        try:
            ex = Extra(self, "inherit", ["-l", "fd:0", "-w", "2"], stdin=ls.fileno())
        finally:
            ls.close()
        ex.wait_ready(sock=False)
        st, h, data = fcgi_request(path, "GET", VERIFY)
        self.assertEqual(st, 401, data)
        self.assertEqual(ex.stop(), 0, ex.log())
        self.assertTrue(os.path.exists(path), "levy-fcgi removed a socket it did not create")
        # fd 0 that is not a listening socket: refused.
        p = run_fcgi(["-l", "fd:0"], conf=lt.LEVY_CONF)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("fd 0", p.stderr)

    def test_systemd_socket_activation(self):
        path = os.path.join(SOCKDIR, "sd.sock")
        if os.path.exists(path):
            os.unlink(path)
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)
        ls.listen(16)
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        # The socket arrives as fd 3 with LISTEN_PID = the server's own pid, as systemd does it.
        wrap = ["/bin/sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=levy; '
                'export LISTEN_PID LISTEN_FDS LISTEN_FDNAMES; exec "$@" 3<&0 0</dev/null', "sh"]
        try:
            # -l names another socket: a socket passed by systemd wins over it.
            ex = Extra(self, "sd", ["-l", "unix:%s" % os.path.join(SOCKDIR, "sd-unused.sock"), "-w", "2"],
                       stdin=ls.fileno(), wrap=wrap)
        finally:
            ls.close()
        ex.wait_ready(sock=False)
        self.assertFalse(os.path.exists(os.path.join(SOCKDIR, "sd-unused.sock")))
        st, h, data = fcgi_request(path, "GET", VERIFY)
        self.assertEqual(st, 401, data)
        self.assertEqual(ex.stop(), 0, ex.log())
        self.assertTrue(os.path.exists(path), "levy-fcgi removed systemd's socket")
        # listen = "systemd" without a socket from systemd: refused.
        p = run_fcgi(["-l", "systemd"], conf=lt.LEVY_CONF)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("systemd", p.stderr)

    def test_tcp_listen(self):
        addrs = [("127.0.0.1", socket.AF_INET, "127.0.0.1:%d")]
        if socket.has_ipv6:
            addrs.append(("::1", socket.AF_INET6, "[::1]:%d"))
        for host, family, spec in addrs:
            with self.subTest(listen=spec):
                try:
                    probe = socket.socket(family, socket.SOCK_STREAM)
                    probe.bind((host, 0))
                except OSError:
                    continue  # no such address here (IPv6 disabled)
                port = probe.getsockname()[1]
                probe.close()
                ex = Extra(self, "tcp%d" % family, ["-l", spec % port, "-w", "2"])
                ex.wait_ready(sock=False)
                st, h, data = fcgi_request((host, port), "GET", VERIFY)
                self.assertEqual(st, 401, data)
                # A second server on the same address is refused (SO_REUSEADDR does not let it in).
                p = run_fcgi(["-l", spec % port], conf=lt.LEVY_CONF)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertEqual(ex.stop(), 0, ex.log())
        for bad in ("nohost", "127.0.0.1:99999", "::1:80", "unix:", "fd:x"):
            with self.subTest(listen=bad):
                p = run_fcgi(["-l", bad], conf=lt.LEVY_CONF)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn("listen", p.stderr)

    def test_unwritable_pidfile(self):
        sock = os.path.join(SOCKDIR, "nopid.sock")
        p = run_fcgi(["-l", "unix:%s" % sock, "-p", os.path.join(RUN, "no-such-dir", "x.pid")],
                     conf=lt.LEVY_CONF)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("pid file", p.stderr)
        self.assertFalse(os.path.exists(sock), "socket left behind")

    def test_second_server_on_same_socket_refused(self):
        p = run_fcgi(["-l", "unix:%s" % os.environ["LEVY_FCGI_SOCK"]], conf=lt.LEVY_CONF)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("another server is listening", p.stderr)
        self.assertError(lt.get(VERIFY), 401, "authentication_error")

    def test_stale_socket_is_replaced(self):
        path = os.path.join(SOCKDIR, "stale.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(path):
            os.unlink(path)
        s.bind(path)
        s.close()  # a socket file nobody listens on, as a killed server leaves it
        ex = Extra(self, "stale", ["-l", "unix:%s" % path, "-w", "1"])
        ex.wait_ready()
        st, h, data = fcgi_request(path, "GET", VERIFY)
        self.assertEqual(st, 401, data)
        self.assertEqual(ex.stop(), 0, ex.log())
        self.assertFalse(os.path.exists(path))
        # A regular file in the way is not removed.
        with open(path, "w", encoding="ascii") as f:
            f.write("not a socket\n")
        self.addCleanup(os.unlink, path)
        p = run_fcgi(["-l", "unix:%s" % path], conf=lt.LEVY_CONF)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("not a socket", p.stderr)

    # -- refusing to start --------------------------------------------------------------

    def assertRefused(self, conninfo, name, *words):
        conf = conf_with([(CONNINFO_RE, 'conninfo = "%s"' % conninfo)], "%s.conf" % name)
        sock = os.path.join(SOCKDIR, "%s.sock" % name)
        p = run_fcgi(["-l", "unix:%s" % sock, "-w", "1"], conf=conf)
        self.assertEqual(p.returncode, 1, "stdout %r stderr %r" % (p.stdout, p.stderr))
        for w in words:
            self.assertIn(w, p.stderr)
        self.assertFalse(os.path.exists(sock), "socket created before the role check")
        return p

    def test_refuses_superuser(self):
        su = os.environ.get("LEVY_SUPER_CONNINFO")
        self.assertTrue(su, "LEVY_SUPER_CONNINFO not set")
        self.assertRefused(su, "super", "row-level security", "superuser")

    def test_refuses_bypassrls_role(self):
        su = os.environ["LEVY_SUPER_CONNINFO"]
        role = "levy_bypass_%s" % secrets.token_hex(4)
        lt.psql(su, "CREATE ROLE %s LOGIN NOSUPERUSER BYPASSRLS;" % role)
        self.addCleanup(lt.psql, su, "DROP ROLE IF EXISTS %s;" % role, False)
        app = os.environ["LEVY_APP_CONNINFO"]
        conninfo = re.sub(r"user=\S+", "user=%s" % role, app)
        self.assertRefused(conninfo, "bypass", "row-level security", "BYPASSRLS")

    def test_refuses_table_owner(self):
        self.assertRefused(os.environ["LEVY_OWNER_CONNINFO"], "owner", "row-level security", "owns")

    def test_refuses_unreachable_database(self):
        conninfo = "host=%s port=1 dbname=levy user=levy_app connect_timeout=5" % SOCKDIR
        self.assertRefused(conninfo, "nodb", "could not connect")

    # -- command line and configuration ------------------------------------------------

    def test_t_prints_config(self):
        p = run_fcgi(["-t"], conf=lt.LEVY_CONF)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^workers = %d$" % self.n)
        self.assertRegex(p.stdout, r'(?m)^listen = "unix:%s"$' % re.escape(os.environ["LEVY_FCGI_SOCK"]))
        self.assertNotIn(lt.jwt_secret(), p.stdout, "-t printed the JWT secret")
        # -l and -w override the file.
        p = run_fcgi(["-t", "-w", "7", "-l", "127.0.0.1:9000"], conf=lt.LEVY_CONF)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^workers = 7$")
        self.assertRegex(p.stdout, r'(?m)^listen = "127.0.0.1:9000"$')
        for bad in ("0", "257", "x", ""):
            p = run_fcgi(["-t", "-w", bad], conf=lt.LEVY_CONF)
            self.assertEqual(p.returncode, 2, "-w %r: %s" % (bad, p.stderr))
        self.assertEqual(run_fcgi(["-V"]).returncode, 0)
        self.assertEqual(run_fcgi(["-x"]).returncode, 2)

    def test_config_errors_exit_2(self):
        text = lt.conf_text()
        m = re.search(r"(?m)^\s*workers\s*=.*$", text)
        self.assertTrue(m, "no workers line in %s" % lt.LEVY_CONF)
        line = text.count("\n", 0, m.start()) + 1
        bad = conf_with([(r"^\s*workers\s*=.*$", "workers = 0;")], "bad-workers.conf")
        p = run_fcgi(["-t"], conf=bad)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("%s:%d" % (bad, line), p.stderr)
        self.assertIn("workers", p.stderr)
        # Serving (not only -t) refuses it the same way.
        p = run_fcgi(["-l", "unix:%s" % os.path.join(SOCKDIR, "bad.sock")], conf=bad)
        self.assertEqual(p.returncode, 2, p.stderr)
        # A JWT secret shorter than 32 bytes.
        short = conf_with([(r'(?<![A-Za-z0-9_])secret\s*[=:]\s*"(?:[^"\\]|\\.)*"', 'secret = "too-short"')],
                          "short-secret.conf")
        p = run_fcgi(["-t"], conf=short)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("32", p.stderr)
        # A file that does not exist.
        missing = os.path.join(RUN, "no-such.conf")
        p = run_fcgi(["-t"], conf=missing)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(missing, p.stderr)

    def test_conf_path_precedence(self):
        bad = conf_with([(r"^\s*workers\s*=.*$", "workers = 0;")], "env-bad.conf")
        env = dict(os.environ, LEVY_CONF=bad)
        p = run_fcgi(["-t"], env=env)  # LEVY_CONF names the file
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(bad, p.stderr)
        p = run_fcgi(["-t"], conf=lt.LEVY_CONF, env=env)  # -c wins
        self.assertEqual(p.returncode, 0, p.stderr)
        env = dict(os.environ, LEVY_CONF=lt.LEVY_CONF)
        p = run_fcgi(["-t"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^workers = %d$" % self.n)


if __name__ == "__main__":
    lt.main()
