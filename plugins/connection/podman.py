# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: podman
short_description: Run tasks in a podman container, over a kept channel or one podman exec per module
version_added: 0.1.0
description:
  - The connection of C(containers.podman.podman) (it is a subclass of it) with module
    pipelining. A module goes to the container's Python on the standard input of the
    command, and is not copied first. Without pipelining, each module costs five commands
    (home directory, temporary directory, chmod, run, cleanup).
  - A kept channel, like SSH's ControlPersist. The first command for a container starts a
    small agent in it with one C(podman exec), which returns once the agent's Unix socket
    (in the container's C(/run)) listens, the agent going on in the background. The agent
    runs each command it is sent as a child of its own, so with the environment,
    capabilities and cgroup of a C(podman exec). Later commands, of this
    and of later runs, go through that socket (reached as C(/proc/PID/root/...) of the
    container's first process) instead of a new C(podman exec) each, which costs podman's
    own start, about 0.1 s a command on a 2-core machine. The agent leaves after
    O(persist_seconds) without a command; when the container stops, it stops with it.
  - Which container process the channel belongs to is kept in O(control_path_dir), with
    that process's start time, so a restarted or recreated container is asked anew with
    C(podman inspect), never reached through a stale record. When the agent cannot start
    (no Python in the container, a read-only C(/run)), the run warns with the error, and the
    container's commands go through C(podman exec) as without the channel for two minutes,
    before the next try.
  - Files (template, copy, fetch) go through the container's root as the kept channel's
    process sees it (C(/proc/PID/root)); without the channel, through the mounted file
    system or C(podman cp), as with C(containers.podman.podman), and the container is
    mounted (C(podman mount)) only for a task that puts or fetches a file.
  - The local provider's hosts use it (plugins/inventory/spec.py), and so do the Molecule
    scenarios whose hosts are podman containers.
requirements:
  - the C(containers.podman) collection, and podman on the controller
notes:
  - Pipelining is on unless O(pipelining) turns it off; then every module is copied and
    run as with C(containers.podman.podman).
  - Modules run asynchronously (C(async)) are not pipelined, as with every connection.
  - Like SSH, the kept channel returns a command's result when the command and every
    process holding its output have finished; a command that leaves a process in the
    background must close or redirect that process's output (C(async) does).
  - The channel is kept for the container's default user only; a task with O(remote_user)
    set (even to that user) goes through C(podman exec --user).
options:
  remote_addr:
    description:
      - The name or ID of the container.
    default: inventory_hostname
    vars:
      - name: ansible_host
      - name: inventory_hostname
      - name: ansible_podman_host
  remote_user:
    description:
      - The user (name or UID) the commands run as inside the container.
    ini:
      - section: defaults
        key: remote_user
    env:
      - name: ANSIBLE_REMOTE_USER
    vars:
      - name: ansible_user
  podman_extra_args:
    description:
      - Extra arguments for the podman command line, before the subcommand.
    default: ''
    ini:
      - section: defaults
        key: podman_extra_args
    vars:
      - name: ansible_podman_extra_args
    env:
      - name: ANSIBLE_PODMAN_EXTRA_ARGS
  podman_executable:
    description:
      - The podman executable.
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  pipelining:
    description:
      - Send modules over the standard input of C(podman exec --interactive) instead of
        copying them into the container first.
    type: boolean
    default: true
    vars:
      - name: ansible_pipelining
      - name: ansible_podman_pipelining
    env:
      - name: Q8S_PODMAN_PIPELINING
  persist:
    description:
      - Keep a channel into the container (an agent started once) instead of one
        C(podman exec) per command.
    type: boolean
    default: true
    vars:
      - name: ansible_podman_persist
    env:
      - name: Q8S_PODMAN_PERSIST
  persist_seconds:
    description:
      - How long the agent of a kept channel waits for a command before it leaves.
    type: integer
    default: 300
    vars:
      - name: ansible_podman_persist_seconds
    env:
      - name: Q8S_PODMAN_PERSIST_SECONDS
  control_path_dir:
    description:
      - Where the records of the kept channels are written (one small JSON file per
        container), as with SSH's control_path_dir.
    default: ~/.ansible/cp
    ini:
      - section: q8s_podman_connection
        key: control_path_dir
    vars:
      - name: ansible_podman_control_path_dir
    env:
      - name: Q8S_PODMAN_CONTROL_PATH_DIR
  agent_socket:
    description:
      - The agent's Unix socket, a path inside the container. The number in the default
        is the version of the agent's protocol, so an agent of an older q8s still running
        in a container is not sent requests it does not read.
    default: /run/q8s/exec-1.sock
    vars:
      - name: ansible_podman_agent_socket
    env:
      - name: Q8S_PODMAN_AGENT_SOCKET
"""

import fcntl
import hashlib
import inspect
import json
import os
import shlex
import socket
import struct
import subprocess
import threading
import time

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.connection import ensure_connect
from ansible.utils.display import Display
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection

display = Display()

# After an agent failed to start in a container, its commands go through podman exec
# for this many seconds before the next try.
AGENT_RETRY_S = 120


# The agent's program: these imports, the framing helpers and serve(), by source
# (Connection._start_agent). Both ends use the same helpers.
AGENT_IMPORTS = "import json, os, socket, struct, subprocess, threading\n"


def recv_exactly(conn, size):
    """size bytes from conn; EOFError when the other end closes first."""
    chunks = []
    while size:
        chunk = conn.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("the other end closed the channel")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def recv_frame(conn):
    """One frame: an 8-byte length, then that many bytes."""
    return recv_exactly(conn, struct.unpack(">Q", recv_exactly(conn, 8))[0])


def send_frames(conn, *parts):
    """Each part as a frame, in one send."""
    conn.sendall(b"".join(struct.pack(">Q", len(p)) + p for p in parts))


def agent_program(path, idle):
    """The Python program that runs the agent in the container (python3 -c)."""
    parts = [AGENT_IMPORTS] + [inspect.getsource(f) for f in (recv_exactly, recv_frame, send_frames, serve)]
    return "\n".join(parts) + "\nserve(%r, %d, True)\n" % (path, idle)


def serve(path, idle, detach):
    """The agent of a kept channel, run inside the container (agent_program gives
    `python3 -c` its source with the helpers above). It only uses the modules of
    AGENT_IMPORTS and those helpers. It listens on the Unix socket at path
    and runs each command it receives as its own child, so with the environment of the
    podman exec that started it; it leaves after idle seconds without a command. With
    detach, it goes on in the background once the socket listens, and the podman exec
    returns: 0 when the socket is ready, else the error.

    A request is a JSON header ({"argv": [...], "stdin": bool}) and the standard input,
    each as an 8-byte length and the bytes. The agent answers "run" once it has the whole
    request, before the command starts (a client that got no "run" knows the command did
    not run and may send it again), then {"rc": N}, the standard output and the standard
    error."""
    busy = [0]
    lock = threading.Lock()

    def handle(conn):
        try:
            request = json.loads(recv_frame(conn).decode("utf-8"))
            stdin = recv_frame(conn)
            send_frames(conn, b"run")
            try:
                proc = subprocess.Popen(  # pylint: disable=consider-using-with
                    request["argv"],
                    stdin=subprocess.PIPE if request["stdin"] else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
                out, err = proc.communicate(stdin if request["stdin"] else None)
                rc = proc.returncode
            except OSError as exc:  # as podman exec: 126 not executable, 127 not found
                rc, out, err = 127 if isinstance(exc, FileNotFoundError) else 126, b"", str(exc).encode("utf-8")
            send_frames(conn, json.dumps({"rc": rc}).encode("utf-8"), out, err)
        except (EOFError, OSError, ValueError, KeyError, TypeError, struct.error):
            pass
        finally:
            conn.close()
            with lock:
                busy[0] -= 1

    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fresh = "%s.%d" % (path, os.getpid())
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(fresh)
    os.chmod(fresh, 0o600)
    server.listen(64)
    os.rename(fresh, path)  # a client never sees a socket that does not listen yet
    mine = os.stat(path).st_ino
    if detach:
        if os.fork():
            os._exit(0)  # pylint: disable=protected-access
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
    server.settimeout(idle)
    while True:
        try:
            conn, _addr = server.accept()
        except socket.timeout:
            with lock:
                if not busy[0]:
                    break
            continue
        conn.settimeout(None)
        with lock:
            busy[0] += 1
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
    # Unlinked before it closes: a client that connects now is refused, gets no "run",
    # and starts a new agent.
    try:
        if os.stat(path).st_ino == mine:
            os.unlink(path)
    except OSError:
        pass
    server.close()


class NotReached(Exception):
    """The command did not reach the agent (it did not run); it may be sent again."""


def channel_call(path, argv, in_data=None):
    """Run argv through the agent at socket path: (rc, stdout, stderr). NotReached when
    the agent did not take the command; AnsibleConnectionFailure when it took it and the
    channel broke (the command may have run: it is not sent again)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            conn.connect(path)
            header = json.dumps({"argv": [to_native(a) for a in argv], "stdin": in_data is not None}).encode("utf-8")
            send_frames(conn, header, in_data or b"")
            if recv_frame(conn) != b"run":
                raise NotReached("the agent at %s did not take the command" % path)
        except (OSError, EOFError, struct.error) as exc:
            raise NotReached("%s: %s" % (path, exc)) from exc
        try:
            rc = json.loads(recv_frame(conn).decode("utf-8"))["rc"]
            return rc, recv_frame(conn), recv_frame(conn)
        except (OSError, EOFError, ValueError, KeyError, struct.error) as exc:
            raise AnsibleConnectionFailure("the kept channel %s broke while a command ran: %s" % (path, exc)) from exc
    finally:
        conn.close()


def start_time(pid):
    """The start time of process pid (field 22 of /proc/PID/stat), or None without it."""
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def cgroup_names(pid, container_id):
    """Whether process pid's cgroups name the container id (podman puts a container's
    processes in libpod-<id> or libpod-<id>.scope): it is that container's process on
    this machine, not one of a remote podman's."""
    try:
        with open("/proc/%d/cgroup" % pid, encoding="utf-8", errors="replace") as cgroup:
            return bool(container_id) and container_id in cgroup.read()
    except OSError:
        return False


class Connection(PodmanConnection):
    """containers.podman.podman with pipelining (stdin reaches the command) and a kept
    channel into the container (one agent instead of one podman exec per command)."""

    transport = "q8s.cluster.podman"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super(Connection, self).__init__(*args, **kwargs)
        self._mounted = False
        self._channel = None  # the container's record, once read this task

    def _connect(self):
        """Connected without `podman mount`: the parent mounts the container's file system
        on every connection, that is for every task, though only a file put or fetched
        needs it (see _mount)."""
        if not self._connected:
            super(PodmanConnection, self)._connect()
            self._connected = True
        return self

    # -- the kept channel ------------------------------------------------------------

    def _persisting(self):
        """The channel is for the container's default user (the agent runs as the podman
        exec that started it), and for a podman of this machine."""
        remote = os.environ.get("CONTAINER_HOST") or os.environ.get("CONTAINER_CONNECTION")
        for arg in shlex.split(to_native(self.get_option("podman_extra_args") or "")):
            remote = remote or arg in ("-r", "-c") or arg.split("=", 1)[0] in ("--remote", "--url", "--connection", "--identity")
        return bool(self.get_option("persist")) and not self.user and not remote

    def _record_path(self):
        key = "%s\0%s" % (self._container_id, self.get_option("podman_extra_args") or "")
        digest = hashlib.sha256(to_bytes(key, errors="surrogate_or_strict")).hexdigest()[:24]
        return os.path.join(os.path.expanduser(self.get_option("control_path_dir")), "q8s-podman-%s.json" % digest)

    def _write_record(self, record):
        path = self._record_path()
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fresh = "%s.%d" % (path, os.getpid())
        with open(fresh, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(fresh, path)

    def _record(self):
        """The container's first process: from the record while that process still runs
        (same pid, same start time), else from podman inspect, checked in /proc. None when
        there is no such process on this machine, or no kept channel for this task."""
        if not self._persisting():
            return None
        if self._channel is not None:
            return self._channel or None
        record = {}
        try:
            with open(self._record_path(), encoding="utf-8") as saved:
                record = json.load(saved)
        except (OSError, ValueError):
            pass
        if not (isinstance(record, dict) and isinstance(record.get("pid"), int) and start_time(record["pid"]) == record.get("start")):
            rc, out, dummy = self._podman(["inspect", "--type", "container", "--format", "{{.State.Pid}} {{.Id}}"])
            fields = to_native(out, errors="surrogate_or_strict").split() if rc == 0 else []
            record = {}
            if len(fields) == 2 and fields[0].isdigit() and int(fields[0]) > 0 and cgroup_names(int(fields[0]), fields[1]):
                pid = int(fields[0])
                record = {"pid": pid, "start": start_time(pid), "id": fields[1], "agent": True}
                self._write_record(record)
            else:
                display.vvv("no kept channel: %r is not a running container of this machine" % (fields,), host=self._container_id)
        self._channel = record
        return record or None

    def _agent_path(self, record):
        return "/proc/%d/root%s" % (record["pid"], self.get_option("agent_socket"))

    def _start_agent(self, record, path):
        """Start the agent (one podman exec, which returns once its socket listens) unless
        another task has just started it; its socket path, or None when it does not start
        (recorded with the error: the container is then left to podman exec for
        AGENT_RETRY_S seconds)."""
        with open(self._record_path() + ".lock", "w", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(path)
                return path  # another task's agent
            except OSError:
                pass
            finally:
                probe.close()
            try:
                os.unlink(path)  # a dead agent's socket: the new one is awaited below
            except OSError:
                pass
            source = agent_program(self.get_option("agent_socket"), int(self.get_option("persist_seconds")))
            rc, dummy, err = self._podman(["exec"], ["python3", "-c", source])
            if rc == 0 and os.path.exists(path):
                if not record.get("agent"):
                    record.update(agent=True, error=None, failed=None)
                    self._write_record(record)
                return path
            why = "rc %d: %s" % (rc, to_native(err, errors="surrogate_or_strict").strip()[-2000:])
            display.warning("%s: no kept channel, podman exec for %d s: the agent did not start (%s)" % (self._container_id, AGENT_RETRY_S, why))
            record.update(agent=False, error=why, failed=time.time())
            self._write_record(record)
            return None

    def _through_channel(self, argv, in_data):
        """(rc, stdout, stderr) through the kept channel, or None: not kept, the command
        did not run, use podman exec."""
        record = self._record()
        if not record or (not record.get("agent") and time.time() - (record.get("failed") or 0) < AGENT_RETRY_S):
            return None
        path = self._agent_path(record)
        for attempt in (1, 2):
            if attempt == 2 or not os.path.exists(path):
                path = self._start_agent(record, path)
                if path is None:
                    return None
            try:
                return channel_call(path, argv, in_data)
            except NotReached as exc:
                display.vvv("kept channel: %s; starting its agent" % exc, host=self._container_id)
        return None

    # -- files and commands ------------------------------------------------------------

    def _mount(self):
        """Where the container's root is seen from here, once, before the first file
        goes across: the kept channel's /proc/PID/root, else the parent's connect
        (podman mount)."""
        if self._mounted:
            return
        record = self._record()
        if record:
            self._mount_point = to_bytes("/proc/%d/root" % record["pid"])
        else:
            PodmanConnection._connect(self)
        self._mounted = True

    def put_file(self, in_path, out_path):
        """The parent's put_file, through the container's root or podman cp."""
        self._mount()
        return super(Connection, self).put_file(in_path, out_path)

    def fetch_file(self, in_path, out_path):
        """The parent's fetch_file, through the container's root or podman cp."""
        self._mount()
        return super(Connection, self).fetch_file(in_path, out_path)

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        """Run cmd in the container (through the kept channel, else podman exec); with
        in_data, on its standard input (pipelining)."""
        # ConnectionBase's own bookkeeping, without the parent's podman exec.
        super(PodmanConnection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        argv = shlex.split(to_native(cmd, errors="surrogate_or_strict"))
        result = self._through_channel(argv, in_data)
        if result is not None:
            return result
        args = ["exec"]
        if in_data is not None:
            args.append("--interactive")
        if self.user:
            args.extend(("--user", self.user))
        return self._podman(args, argv, in_data)
