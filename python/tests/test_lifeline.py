"""lifeline.end_with_launcher: a CP launch ends with the CLI that started it, even a CLI killed -9.

A stand-in CLI (python) starts a launch the way src/cp/torch/spawn.ts does (a process group of its
own, ATTNBENCH_LAUNCHER_PID set); the launch is either one process (virtual ranks) or a torchrun
stand-in whose rank is a session leader (as torch elastic starts them) or shares its group. Every
process writes its pid; the CLI is killed -9 and every one of them must be gone soon after.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

from attnbench_worker.lifeline import LAUNCHER_ENV, end_with_launcher

PYDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CLI = textwrap.dedent("""
    import os, subprocess, sys, time
    env = dict(os.environ, ATTNBENCH_LAUNCHER_PID=str(os.getpid()))
    subprocess.Popen([sys.executable, sys.argv[1], *sys.argv[2:]], env=env, start_new_session=sys.argv[3] == "group")
    time.sleep(600)
""")

# argv: pidfile group|same role (virtual | rank | torchrun-new | torchrun-same)
LAUNCH = textwrap.dedent("""
    import os, subprocess, sys, time
    pidfile, role = sys.argv[1], sys.argv[3]
    def note(pid):
        with open(pidfile, "a") as f:
            f.write(f"{pid}\\n")
    if role in ("virtual", "rank"):
        from attnbench_worker.lifeline import end_with_launcher
        end_with_launcher(0.05)
        note(subprocess.Popen(["sleep", "600"]).pid)  # a compiler child, in this group
        note(os.getpid())
    else:  # torchrun stand-in: no watch of its own; its rank in a new session ('new') or in its group
        note(os.getpid())
        subprocess.Popen([sys.executable, __file__, pidfile, "x", "rank"], start_new_session=role == "torchrun-new")
    time.sleep(600)
""")


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except FileNotFoundError:
        return True
    return stat[stat.rfind(")") + 2] in "ZX"


class EndWithLauncher(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.pids = []

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        for p in self.pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass

    def run_launch(self, role, group="group", expect=2, must_end=None):
        launch = os.path.join(self.dir, "launch.py")
        cli = os.path.join(self.dir, "cli.py")
        pidfile = os.path.join(self.dir, f"{role}.pids")
        with open(launch, "w") as f:
            f.write(LAUNCH)
        with open(cli, "w") as f:
            f.write(CLI)
        env = dict(os.environ, PYTHONPATH=PYDIR)
        env.pop(LAUNCHER_ENV, None)
        proc = subprocess.Popen([sys.executable, cli, launch, pidfile, group, role], env=env)
        try:
            pids = []
            for _ in range(400):
                if os.path.exists(pidfile):
                    with open(pidfile) as f:
                        pids = [int(x) for x in f.read().split()]
                if len(pids) >= expect:
                    break
                time.sleep(0.05)
            self.pids = pids
            self.assertGreaterEqual(len(pids), expect, "the launch started")
            time.sleep(0.3)
            self.assertFalse(any(gone(p) for p in pids), "alive while the CLI runs")
        finally:
            proc.kill()
            proc.wait()
        check = pids if must_end is None else [pids[i] for i in must_end]
        for _ in range(200):
            if all(gone(p) for p in check):
                break
            time.sleep(0.05)
        self.assertEqual([p for p in check if not gone(p)], [], "processes of the launch outlived the CLI")

    def test_virtual_launch_and_its_children_end(self):
        self.run_launch("virtual")

    def test_torchrun_with_session_leader_ranks_ends(self):
        self.run_launch("torchrun-new", expect=3)

    def test_torchrun_with_ranks_in_its_group_ends(self):
        self.run_launch("torchrun-same", expect=3)

    def test_launch_in_the_clis_own_group_ends_alone(self):
        # not started as a group leader: the watch must not kill the CLI's group (this test runs in it)
        self.run_launch("virtual", group="same", must_end=[1])

    def test_no_launcher_no_watch(self):
        self.assertFalse(end_with_launcher(env={}))
        self.assertFalse(end_with_launcher(env={LAUNCHER_ENV: "x"}))
        self.assertFalse(end_with_launcher(env={LAUNCHER_ENV: str(os.getpid())}))


if __name__ == "__main__":
    unittest.main()
