"""A launch ends with the attnbench CLI that started it (src/cp/torch/spawn.ts).

`cp run --executor torch` starts torchrun (or one python for virtual ranks) in a process group of
its own, so that a stop from the CLI reaches the whole launch, and passes its pid in
ATTNBENCH_LAUNCHER_PID. A CLI killed with -9 can stop nothing: each process of the launch watches
it instead and, once it is gone, kills the launch's process groups (its own, and torchrun's when
torchrun leads one) so no rank keeps a GPU busy with no one to read its rows. A rank whose parent
(torchrun) dies does the same. serve.end_with_parent is the kernels worker's counterpart.
"""

import os
import signal
import threading
import time

LAUNCHER_ENV = "ATTNBENCH_LAUNCHER_PID"


def _start_time(pid):
    """The process's start time (a pid may be reused), None once it is gone or a zombie; True where /proc is absent."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except FileNotFoundError:
        return None
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return True
    fields = stat[stat.rfind(")") + 2:].split()  # after 'pid (comm) ': state, ppid, ...
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]  # field 22 of the whole line: starttime


def launch_groups(parent):
    """Process groups of this launch: this process's, and its parent's when the parent leads its own
    (torchrun, started as a group leader by the CLI); never the group of the CLI itself."""
    groups = [os.getpgid(0)]
    try:
        pg = os.getpgid(parent)
        if pg == parent and pg not in groups:
            groups.append(pg)
    except OSError:
        pass
    return groups


def end_with_launcher(interval_s=0.5, env=None):
    """Starts the watch when ATTNBENCH_LAUNCHER_PID is set; returns whether it did."""
    env = os.environ if env is None else env
    try:
        launcher = int(env.get(LAUNCHER_ENV) or 0)
    except ValueError:
        return False
    if launcher <= 0 or launcher == os.getpid():
        return False
    parent = os.getppid()
    started = _start_time(launcher)
    groups = [g for g in launch_groups(parent) if g != _pgid(launcher)]

    def gone():
        return started is None or _start_time(launcher) != started or os.getppid() != parent

    def watch():
        while not gone():
            time.sleep(interval_s)
        for g in groups:
            if g != os.getpgid(0):
                try:
                    os.killpg(g, signal.SIGKILL)
                except OSError:
                    pass
        if os.getpgid(0) in groups:
            os.killpg(os.getpgid(0), signal.SIGKILL)
        os._exit(3)

    threading.Thread(target=watch, name="end-with-launcher", daemon=True).start()
    return True


def _pgid(pid):
    try:
        return os.getpgid(pid)
    except OSError:
        return None
