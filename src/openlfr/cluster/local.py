"""A Ray cluster on this machine, for tests, benchmarks and trying cluster mode: a head and worker nodes,
each ``ray start --block`` in a process group of its own on loopback with its own temp dir (so that one
node can be SIGKILLed whole, as a machine dies). The head declares no camera capacity; each worker
declares ``cameras``. Ray's token authentication is off (loopback only); a driver joining it needs
``RAY_AUTH_MODE=disabled`` too. Not for production: there, each machine runs ``ray start`` itself (README)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")
OBJECT_STORE_BYTES = 100_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    """One ``ray start --block`` process group."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL the node's whole process group (``ray start``, its raylet and every worker under it)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@dataclass
class LocalCluster:
    """The nodes started under ``root`` (keep it short: Ray's socket paths must stay under 108 bytes)."""

    root: Path
    port: int = field(default_factory=free_port)
    nodes: list[Node] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start_head(self) -> Node:
        """The head: no camera capacity (the cameras go to the workers), no dashboard."""
        args = ["--head", f"--port={self.port}", "--include-dashboard=false", f"--ray-client-server-port={free_port()}"]
        return self._start("head", [*args, "--num-cpus=0", "--resources", json.dumps({"cameras": 0})])

    def add_worker(self, name: str, cameras: int, cpus: int = 1) -> Node:
        """A worker node that can serve ``cameras`` cameras."""
        args = [f"--address={self.address}", f"--num-cpus={cpus}", "--resources", json.dumps({"cameras": cameras})]
        return self._start(name, args)

    def _start(self, name: str, args: list[str]) -> Node:
        temp = self.root / name
        temp.mkdir(parents=True, exist_ok=True)
        log = self.root / f"{name}.log"
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}  # loopback only
        command = [str(RAY), "start", *args, "--node-ip-address=127.0.0.1", f"--temp-dir={temp}"]
        command += [f"--object-store-memory={OBJECT_STORE_BYTES}", "--block"]
        with log.open("wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        node = Node(name, process, log)
        self.nodes.append(node)
        self._wait_up(node)
        return node

    def _wait_up(self, node: Node, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.process.poll() is not None:
                raise RuntimeError(f"ray node {node.name} ended: {node.log.read_text()[-2000:]}")
            if "Ray runtime started" in node.log.read_text(errors="replace"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"ray node {node.name} did not start in {timeout:.0f} s")

    def node_id(self, node: Node) -> str | None:
        """The Ray node id of ``node`` (found by its temp dir), from a connected driver; None if it is dead."""
        import ray

        for info in ray.nodes():  # type: ignore[no-untyped-call]
            if info.get("Alive") and f"/{node.name}/" in str(info.get("ObjectStoreSocketName", "")):
                return str(info["NodeID"])
        return None

    def stop(self) -> None:
        """SIGKILL every node (a test's or benchmark's cluster holds nothing to save)."""
        for node in reversed(self.nodes):
            node.kill()
