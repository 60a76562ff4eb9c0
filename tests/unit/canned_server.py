"""A loopback HTTP/1.1 server that answers every POST with canned bytes: an event stream
exactly as a vendor writes it (its framing, comments, fields, line ends), piece by piece, so
a test drives a real provider over real sockets on either HTTP stack.

    async with CannedServer([b"data: ...\\n\\n", b"data: [DONE]\\n\\n"]) as srv:
        srv.base_url, srv.requests  # (headers lower-cased, JSON body) per request

`gzip`: "never", "accepted" (compress when the request's Accept-Encoding allows gzip, as a
server or CDN compressing text does) or "always" (whatever the request says). `status` and
`ctype` give an error answer instead (its body the pieces joined). `script` instead maps the
request's index to its own (status, ctype, pieces). `tail`: how the body ends after the
pieces: "end" (the last chunk), "drop" (the connection closed without it, as a proxy that
drops it) or "stall" (nothing more until the server stops).
"""

from __future__ import annotations

import asyncio
import json
import zlib
from typing import Any, Literal

Answer = tuple[int, str, list[bytes]]


class CannedServer:
    def __init__(self, pieces: list[bytes], *, gzip: Literal["never", "accepted", "always"]
                 = "never", status: int = 200, ctype: str = "text/event-stream",
                 script: dict[int, Answer] | None = None, pause: float = 0.005,
                 tail: Literal["end", "drop", "stall"] = "end") -> None:
        self.answer: Answer = (status, ctype, pieces)
        self.tail = tail
        self._stopping = asyncio.Event()
        self.gzip, self.script, self.pause = gzip, script or {}, pause
        self.requests: list[tuple[dict[str, str], Any]] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> CannedServer:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._stopping.set()
        self._server.close()
        for writer in self._writers:  # idle keep-alive connections: their readers see EOF
            writer.close()
        await asyncio.sleep(0.01)
        await self._server.wait_closed()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1"

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while await self._exchange(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the test's loop ended
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _exchange(self, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> bool:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (line.partition(":") for line in head[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        status, ctype, pieces = self.script.get(len(self.requests), self.answer)
        self.requests.append((headers, json.loads(body) if body else None))
        accepted = "gzip" in headers.get("accept-encoding", "")
        out = [f"HTTP/1.1 {status} X", f"Content-Type: {ctype}", "Transfer-Encoding: chunked"]
        squeeze = None
        if self.gzip == "always" or (self.gzip == "accepted" and accepted):
            out.append("Content-Encoding: gzip")
            squeeze = zlib.compressobj(wbits=31)  # a gzip stream, flushed piece by piece
        writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
        for piece in pieces:
            data = piece if squeeze is None else (
                squeeze.compress(piece) + squeeze.flush(zlib.Z_SYNC_FLUSH))
            writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await writer.drain()
            await asyncio.sleep(self.pause)
        if self.tail == "drop":
            return False  # closed by `_connection`, the body unfinished
        if self.tail == "stall":
            await self._stopping.wait()
            return False
        if squeeze is not None:
            tail = squeeze.flush()
            writer.write(b"%x\r\n%s\r\n" % (len(tail), tail))
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True
