"""Messages between a run's parent process and its workers, over one socket each, on asyncio.

A message is any picklable tuple, framed as 4 bytes of length and the pickle. Both ends
read and write on their event loop, so neither blocks the other however many messages
are queued (a pipe written from a blocking call can deadlock two busy processes). The
socket is one end of a `socket.socketpair` made by the parent, handed to a spawned child
as a multiprocessing `Connection`; only the parent and its own children ever speak on it,
which is why pickle is safe here.

`Channel.call` sends a request and awaits its reply (the worker asking the parent for a
permit, a budget reservation or a journal entry); `Channel.post` sends without waiting
(a record, a released permit). `serve` answers a peer's calls with a handler.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pickle
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

_LENGTH = struct.Struct("!I")

REPLY = "reply"
"""Kind of the message that answers a call: ``(REPLY, call_id, ok, value)``."""


class ChannelClosed(Exception):
    """The other end is gone (its process exited or was killed)."""


class Channel:
    """One end of a parent-worker socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}

    @classmethod
    async def open(cls, fileno: int) -> Channel:
        """A channel on a socket given by its file descriptor (duplicated: the caller keeps its own)."""
        sock = socket.socket(fileno=os.dup(fileno))
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer)

    def post(self, *message: Any) -> None:
        """Send without waiting for an answer (dropped once the other end is gone: nobody is
        left to read it)."""
        if self.writer.is_closing():
            return
        blob = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(_LENGTH.pack(len(blob)) + blob)

    async def call(self, *message: Any) -> Any:
        """Send ``message`` with a call id and await the peer's reply (its error re-raised here)."""
        call_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        self.post(message[0], call_id, *message[1:])
        return await future

    async def receive(self) -> tuple:
        """The next message that is not a reply (replies resolve their calls on the way)."""
        while True:
            try:
                head = await self.reader.readexactly(_LENGTH.size)
                message = pickle.loads(await self.reader.readexactly(_LENGTH.unpack(head)[0]))
            except (asyncio.IncompleteReadError, ConnectionError) as gone:
                self._fail_waiting()
                raise ChannelClosed("the other process closed the channel") from gone
            if message[0] != REPLY:
                return message
            _, call_id, ok, value = message
            future = self._waiting.pop(call_id, None)
            if future is not None and not future.done():
                future.set_result(value) if ok else future.set_exception(value)

    def reply(self, call_id: int, value: Any = None, error: BaseException | None = None) -> None:
        self.post(REPLY, call_id, error is None, error if error is not None else value)

    async def drain(self) -> None:
        await self.writer.drain()

    def close(self) -> None:
        self._fail_waiting()
        self.writer.close()

    def _fail_waiting(self) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ChannelClosed("the other process closed the channel"))
        self._waiting.clear()


def answer(channel: Channel, call_id: int, handler: Callable[[], Awaitable[Any]]) -> asyncio.Task:
    """Run ``handler`` in a task of its own and reply with its result or its error, so one
    slow answer (a permit that must wait) holds up none of the channel's other messages."""

    async def run() -> None:
        try:
            value = await handler()
        except Exception as error:  # handed to the caller, whose call raises it
            channel.reply(call_id, error=error)
        else:
            channel.reply(call_id, value)

    return asyncio.get_running_loop().create_task(run())
