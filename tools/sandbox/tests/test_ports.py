"""The sandbox keeps its ports across restarts (``sandbox down`` then ``up``).

Kubeconfigs, inventories and ``endpoints.json`` written while it ran name those ports: an emulator
that comes back on another port leaves every earlier kubeconfig pointing at nothing (the fault
matrix's saved states did, when another process held the Kubernetes emulator's port during a
restart). A restart waits for its former port; a port chosen anew lies below the kernel's ephemeral
range (``net.ipv4.ip_local_port_range``), from which outgoing connections take their local ports,
so no client connection can be holding it at the next restart.
"""

from __future__ import annotations

import socket
import threading
import time

from sandbox import cli


def _listen(port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_a_new_port_lies_below_the_ephemeral_range() -> None:
    low, _high = cli.ephemeral_range()
    ports = {cli._free_port(None) for _ in range(5)}
    assert all(0 < p < low for p in ports), (ports, low)


def test_a_restart_waits_for_its_former_port() -> None:
    holder = _listen()
    port = holder.getsockname()[1]
    threading.Timer(0.6, holder.close).start()
    started = time.monotonic()
    assert cli._free_port(port, wait=10) == port
    assert time.monotonic() - started >= 0.5


def test_a_port_held_past_the_wait_is_replaced_by_one_below_the_ephemeral_range() -> None:
    holder = _listen()
    try:
        port = holder.getsockname()[1]
        replacement = cli._free_port(port, wait=0.5)
    finally:
        holder.close()
    assert replacement not in (0, port)
    assert replacement < cli.ephemeral_range()[0]
