"""gRPC over raw HTTP/2 for the hostile tests: a well-behaved unary client (on Python's `h2`), the
raw frames attackers send, and just enough protobuf to build sessiond's requests.

A well-behaved client is needed beside the attackers (to measure normal calls) and must not share
their connection; the attackers need frames a gRPC library would never send (resets, bare PINGs,
streams past the server's limit), so everything here is bytes on a socket.
"""
import gzip
import socket
import struct
import time
import zlib

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import hpack

SERVICE = "/sessiond.v1.SessionService/"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
OK, UNIMPLEMENTED, RESOURCE_EXHAUSTED = 0, 12, 8


# --- protobuf, by hand (field numbers from proto/sessiond/v1/session.proto) ---
def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):
    """A length-delimited field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def create_request(entries):
    """CreateSessionRequest{entries}: a map of key to Value{bytes_value}."""
    return b"".join(field(1, field(1, k.encode()) + field(2, field(2, v))) for k, v in entries.items())


def get_request(session_id):
    return field(1, session_id.encode())


def first_field(message):
    """The first length-delimited field's payload (CreateSessionResponse.session, SessionInfo.id)."""
    position = 1
    length = shift = 0
    while True:
        byte = message[position]
        length |= (byte & 0x7F) << shift
        position += 1
        shift += 7
        if not byte & 0x80:
            return message[position:position + length]


def grpc_message(payload, compressed=False):
    return struct.pack(">BI", 1 if compressed else 0, len(payload)) + payload


# --- raw HTTP/2 frames ---
def frame(kind, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", kind, flags, stream_id) + payload


HEADERS, DATA, RST_STREAM, SETTINGS, PING = 1, 0, 3, 4, 6
END_STREAM, END_HEADERS = 0x1, 0x4


def header_block(method, extra=()):
    """An HPACK block for a gRPC call; without dynamic-table entries, so it can be resent as is."""
    encoder = hpack.Encoder()
    encoder.header_table_size = 0
    headers = [(":method", "POST"), (":scheme", "http"), (":path", SERVICE + method),
               (":authority", "127.0.0.1"), ("content-type", "application/grpc"), ("te", "trailers"),
               *extra]
    return encoder.encode([hpack.NeverIndexedHeaderTuple(k, v) for k, v in headers])


def raw_connection(port, settings=b""):
    """A socket that has sent the client preface and SETTINGS (`settings`: 6-byte entries)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(PREFACE + frame(SETTINGS, 0, 0, settings))
    return sock


def gzip_bomb(inflated_bytes):
    """A gzip stream inflating to `inflated_bytes` zero bytes (about 1/1000 of that compressed)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    parts = [compressor.compress(chunk) for _ in range(inflated_bytes >> 20)]
    parts.append(compressor.flush())
    return b"".join(parts)


assert gzip.decompress(gzip_bomb(1 << 20)) == bytes(1 << 20)


# --- a well-behaved client ---
class Call:
    def __init__(self):
        self.data = bytearray()
        self.status = None  # grpc-status, once known
        self.reset = False  # RST_STREAM from the server (or the connection ended)

    @property
    def done(self):
        return self.status is not None or self.reset


class Client:
    """One HTTP/2 connection making gRPC unary calls; honours flow control unless told not to."""

    def __init__(self, port, timeout=10.0, acknowledge_data=True, initial_window=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.h2.initiate_connection()
        if initial_window is not None:
            self.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: initial_window})
        self.acknowledge_data = acknowledge_data
        self.calls = {}
        self.closed = False
        self._flush()

    def close(self):
        self.sock.close()

    def _flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def start(self, method, extra_headers=()):
        """Opens a stream for `method`; returns its id."""
        stream = self.h2.get_next_available_stream_id()
        self.h2.send_headers(stream, [
            (":method", "POST"), (":scheme", "http"), (":path", SERVICE + method),
            (":authority", "127.0.0.1"), ("content-type", "application/grpc"), ("te", "trailers"),
            *extra_headers])
        self.calls[stream] = Call()
        self._flush()
        return stream

    def send(self, stream, data, end_stream=True, deadline=None):
        """Sends `data` as the window allows; stops early if the stream ends. True if all sent."""
        view = memoryview(data)
        while view:
            if self.calls[stream].done or self.closed:
                return False
            try:
                window = min(self.h2.local_flow_control_window(stream), self.h2.max_outbound_frame_size)
            except h2.exceptions.StreamClosedError:
                return False
            if window <= 0:
                self.receive(deadline)
                continue
            self.h2.send_data(stream, bytes(view[:window]))
            view = view[window:]
            self._flush()
        if end_stream:
            self.h2.end_stream(stream)
            self._flush()
        return True

    def receive(self, deadline=None):
        """Reads once from the socket and handles what arrived."""
        if deadline is not None:
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            for call in self.calls.values():
                call.reset = call.reset or call.status is None
            return
        for event in self.h2.receive_data(data):
            call = self.calls.get(getattr(event, "stream_id", None))
            if isinstance(event, h2.events.DataReceived):
                if call is not None:
                    call.data += event.data
                if self.acknowledge_data:
                    self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                for name, value in event.headers:
                    if name == b"grpc-status" and call is not None:
                        call.status = int(value)
            elif isinstance(event, h2.events.StreamReset) and call is not None:
                call.reset = True
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.closed = True
        self._flush()

    def call(self, method, request, timeout=10.0):
        """A unary call: (grpc-status or None if reset/closed, response message bytes)."""
        deadline = time.monotonic() + timeout
        stream = self.start(method)
        self.send(stream, grpc_message(request), deadline=deadline)
        call = self.calls[stream]
        while not call.done and time.monotonic() < deadline:
            self.receive(deadline)
        del self.calls[stream]
        return call.status, bytes(call.data[5:])
