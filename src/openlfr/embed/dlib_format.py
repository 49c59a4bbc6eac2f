"""Reading dlib's own serialisation of a trained DNN (``deserialize(file) >> net``), without dlib.

Only what dlib's face-recognition ResNet needs, each read as dlib's source writes it (davisking/dlib):

- integers (``serialize.h``): a control byte (bit 7: negative; low 4 bits: how many bytes follow), then
  the absolute value in little-endian bytes; a bool is the ASCII byte ``'1'`` or ``'0'``; a string is
  its length as an integer, then its bytes;
- floating point (``float_details.h``): the mantissa, then the exponent, both as integers, meaning
  ``mantissa * 2**exponent`` (exponents 32000-32002 stand for +inf, -inf and NaN);
- ``resizable_tensor`` (``dnn/tensor.h``, version 2): num_samples, k, nr, nc, then the values as raw
  4-byte little-endian IEEE floats; ``alias_tensor`` (version 1): its four dimensions only.

The layers' own fields (``dnn/layers.h``, ``dnn/input.h``, ``dnn/loss.h``) are read by
``dlib_convert``, which knows the network's type; this module only reads values.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from openlfr.errors import ModelCorruptError

_SPECIAL_EXPONENTS = {32000: math.inf, 32001: -math.inf, 32002: math.nan}


class DlibReader:
    """A cursor over the bytes of a dlib-serialised object; every read raises ModelCorruptError on bad data."""

    def __init__(self, data: bytes, source: str) -> None:
        self._data = data
        self._view = memoryview(data)
        self.pos = 0
        self.source = source

    def fail(self, what: str) -> ModelCorruptError:
        return ModelCorruptError(f"cannot read {self.source} as dlib's network at byte {self.pos}: {what}")

    @property
    def at_end(self) -> bool:
        return self.pos == len(self._data)

    def _take(self, n: int) -> memoryview:
        if self.pos + n > len(self._data):
            raise self.fail(f"the file ends inside a value (wanted {n} more bytes)")
        chunk = self._view[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def integer(self) -> int:
        control = self._take(1)[0]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise self.fail(f"0x{control:02x} is not an integer's control byte")
        value = int.from_bytes(self._take(size), "little")
        return -value if control & 0x80 else value

    def expect_integer(self, what: str, allowed: tuple[int, ...]) -> int:
        value = self.integer()
        if value not in allowed:
            raise self.fail(f"{what} is {value}, expected one of {allowed}")
        return value

    def boolean(self) -> bool:
        byte = self._take(1)[0]
        if byte not in (ord("0"), ord("1")):
            raise self.fail(f"0x{byte:02x} is not a bool")
        return byte == ord("1")

    def string(self) -> str:
        size = self.integer()
        if not 0 <= size <= 4096:
            raise self.fail(f"a string of {size} bytes")
        return bytes(self._take(size)).decode("ascii", errors="replace")

    def expect_string(self, allowed: tuple[str, ...]) -> str:
        start = self.pos
        value = self.string()
        if value not in allowed:
            self.pos = start
            raise self.fail(f"found {value!r} where dlib writes {' or '.join(map(repr, allowed))}")
        return value

    def floating(self) -> float:
        if self.pos < len(self._data) and self._data[self.pos] & 0x70:
            raise self.fail("dlib's old text format for floating point numbers is not supported")
        mantissa = self.integer()
        exponent = self.integer()
        if exponent in _SPECIAL_EXPONENTS:
            return _SPECIAL_EXPONENTS[exponent]
        return math.ldexp(float(mantissa), exponent)

    def tensor(self) -> NDArray[np.float32]:
        """A ``resizable_tensor`` as an array of shape (num_samples, k, nr, nc)."""
        self.expect_integer("the tensor version", (2,))
        shape = tuple(self.integer() for _ in range(4))
        if any(d < 0 for d in shape):
            raise self.fail(f"a tensor of shape {shape}")
        count = math.prod(shape)
        raw = self._take(4 * count)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        """An ``alias_tensor``: the dimensions (num_samples, k, nr, nc) of a view into a layer's params."""
        self.expect_integer("the alias_tensor version", (1,))
        n, k, nr, nc = (self.integer() for _ in range(4))
        return n, k, nr, nc


def view(params: NDArray[np.float32], alias: tuple[int, int, int, int], offset: int) -> NDArray[np.float32]:
    """The values an ``alias_tensor`` names at ``offset`` in a layer's flat params, in its shape."""
    flat = params.reshape(-1)
    size = math.prod(alias)
    if offset + size > flat.size:
        raise ModelCorruptError(
            f"a layer's parameters hold {flat.size} values; a view of {alias} at {offset} overflows"
        )
    return flat[offset : offset + size].reshape(alias)
