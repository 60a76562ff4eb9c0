"""The fake servers' HTTP/1.1 layer: a request read off an asyncio stream, and a response
written fixed-length, chunked (keep-alive) or close-delimited, or the connection reset.
Used by `fake_server`, `fake_anthropic` and `fake_batch`."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any


@dataclass
class _Request:
    method: str
    path: str  # the target's path: routed on without its query string, as a server does
    headers: dict[str, str]  # as sent (original case)
    body: bytes
    arrived: float  # loop time when the whole request was read
    target: str = ""  # as sent: the path and its query string

    @property
    def keep_alive(self) -> bool:
        lower = {k.lower(): v.lower() for k, v in self.headers.items()}
        return lower.get("connection") != "close"


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 2:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            key, _, value = line.partition(":")
            headers[key.strip()] = value.strip()
    length = next((v for k, v in headers.items() if k.lower() == "content-length"), "0")
    body = await reader.readexactly(int(length or 0))
    arrived = asyncio.get_running_loop().time()
    return _Request(parts[0].upper(), parts[1].partition("?")[0], headers, body, arrived,
                    parts[1])


_PHRASES = {529: "Overloaded"}  # statuses of vendors' own that http.HTTPStatus lacks


class _Conn:
    """Writes one response: fixed-length, chunked (keep-alive) or close-delimited."""

    def __init__(self, writer: asyncio.StreamWriter, keep_alive: bool) -> None:
        self.writer = writer
        self.keep_alive = keep_alive
        self.chunked = False
        self.aborted = False

    def _head(self, status: int, headers: dict[str, str]) -> bytes:
        # a status http.HTTPStatus does not know (Anthropic's 529) raised here, and the
        # connection was dropped instead of answered
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else \
            _PHRASES.get(status, "Unknown")
        lines = [f"HTTP/1.1 {status} {phrase}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append("Connection: " + ("keep-alive" if self.keep_alive else "close"))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def raw(
        self, status: int, data: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        head = {"Content-Type": ctype, "Content-Length": str(len(data)), **(headers or {})}
        await self._send(self._head(status, head) + data)

    async def json(
        self, status: int, obj: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        await self.raw(status, json.dumps(obj).encode(), "application/json", headers)

    async def start_stream(self, chunked: bool) -> None:
        self.chunked = chunked
        self.keep_alive = self.keep_alive and chunked
        head = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        if chunked:
            head["Transfer-Encoding"] = "chunked"
        await self._send(self._head(200, head))

    async def body(self, data: bytes) -> None:
        await self._send(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)

    async def end_stream(self) -> None:
        if self.chunked:
            await self._send(b"0\r\n\r\n")

    async def _send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def reset(self) -> None:
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()
        self.aborted = True
