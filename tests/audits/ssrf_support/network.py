"""Fake DNS and a connect() tripwire: the only "network" the guard tests see."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import socket
import threading

from app.audits.engine.netguard import TargetError

#: Stand-ins for public hosts; the tripwire routes them to loopback servers.
PUBLIC_IP = "93.184.215.14"
REBIND_PUBLIC_IP = "93.184.215.15"

PRIVATE_NAMES: dict[str, list[str]] = {
    "internal.test": ["10.0.0.5"],
    "metadata.test": ["169.254.169.254"],
    "mapped.test": ["::ffff:10.0.0.1"],
    "nat64.test": ["64:ff9b::a9fe:a9fe"],
    "sixtofour.test": ["2002:a00:1::1"],
    "ula.test": ["fd00:ec2::254"],
    "cgnat.test": ["100.100.100.200"],
    "mixed.test": [PUBLIC_IP, "192.168.1.1"],
    "loop.test": ["127.0.0.1"],
}


class Rebinding:
    """Answers that change on every lookup: the DNS-rebinding attacker's name server."""

    def __init__(self, *rounds: list[str]) -> None:
        self._rounds = itertools.cycle(rounds)
        self._lock = threading.Lock()

    def next(self) -> list[str]:
        with self._lock:
            return list(next(self._rounds))


class FakeResolver:
    """Resolver protocol over a dict; a sub-domain falls back to its parent's entry."""

    def __init__(self, table: dict[str, list[str] | Rebinding]) -> None:
        self.table = table
        self.lookups: list[str] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        name = host
        while name:
            entry = self.table.get(name)
            if isinstance(entry, Rebinding):
                return entry.next()
            if entry is not None:
                return list(entry)
            name = name.partition(".")[2]
        raise TargetError("dns_failure", f"{host} is not in the fake resolver.")


class Tripwire:
    """Replaces connect(): only routed (ip, port) pairs are dialled, and only to loopback.

    Every attempt is recorded; anything unrouted is refused without a packet.
    """

    def __init__(self, routes: dict[tuple[str, int], tuple[str, int]] | None = None) -> None:
        self.routes = dict(routes or {})
        self.attempts: list[tuple[str, int]] = []
        self.refused: list[tuple[str, int]] = []
        self.made: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def route(self, ip: str, port: int, to: tuple[str, int]) -> None:
        assert ipaddress.ip_address(to[0]).is_loopback, "tripwire routes must stay on loopback"
        self.routes[(ip, port)] = to

    def _pick(self, ip: str, port: int) -> tuple[str, int]:
        with self._lock:
            self.attempts.append((ip, port))
            target = self.routes.get((ip, port))
            if target is None or not ipaddress.ip_address(target[0]).is_loopback:
                self.refused.append((ip, port))
                raise ConnectionRefusedError(f"tripwire refused {ip}:{port}")
            self.made.append((ip, port))
            return target

    async def connect(self, ip: str, port: int
                      ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, real_port = self._pick(ip, port)
        return await asyncio.open_connection(host, real_port)

    def connect_sync(self, ip: str, port: int, timeout: float) -> socket.socket:
        host, real_port = self._pick(ip, port)
        return socket.create_connection((host, real_port), timeout=timeout)

    def unrouted_attempts(self) -> list[tuple[str, int]]:
        """Attempts to anything not explicitly routed (should be none)."""
        return [a for a in self.attempts if a not in self.routes]
