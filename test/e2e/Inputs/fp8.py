"""FP8 E4M3 (ONNX's FLOAT8E4M3FN: bias 7, no infinities, 0x7F/0xFF NaN,
largest finite 448) in numpy, from the table of its 256 values rather than
bit arithmetic, so that it checks llmc's own rounding independently.

    e4m3_bytes(x)       x (float32) rounded to the nearest E4M3 value, ties
                        to the even code, saturating at +-448 (ONNX's
                        saturate=1), as uint8 codes
    e4m3_values(codes)  the float32 values of uint8 codes
    e4m3_tensor(name, codes)
                        an onnx TensorProto of data type FLOAT8E4M3FN (17)
                        holding the codes as raw data (onnx 1.12 has no
                        FLOAT8 helpers)
"""
import numpy as np

FLOAT8E4M3FN = 17


def _table():
    values = np.zeros(128, np.float64)
    for code in range(128):
        exponent, mantissa = code >> 3, code & 7
        if exponent == 0:
            values[code] = mantissa * 2.0 ** -9
        else:
            values[code] = (1 + mantissa / 8.0) * 2.0 ** (exponent - 7)
    values[0x7F] = np.nan
    return values


_VALUES = _table()
_FINITE = _VALUES[:0x7F]  # codes 0..126, ascending


def e4m3_values(codes):
    codes = np.asarray(codes, np.uint8)
    magnitude = _VALUES[codes & 0x7F]
    return np.where(codes & 0x80, -magnitude, magnitude).astype(np.float32)


def e4m3_bytes(x):
    x = np.asarray(x, np.float32)
    a = np.minimum(np.abs(x.astype(np.float64)), 448.0)
    hi = np.clip(np.searchsorted(_FINITE, a), 0, len(_FINITE) - 1)
    lo = np.maximum(hi - 1, 0)
    d_lo, d_hi = a - _FINITE[lo], _FINITE[hi] - a
    pick_hi = (d_hi < d_lo) | ((d_hi == d_lo) & (hi % 2 == 0))
    code = np.where(pick_hi, hi, lo).astype(np.uint8)
    code = np.where(np.signbit(x), code | 0x80, code).astype(np.uint8)
    return np.where(np.isnan(x), np.uint8(0x7F), code).astype(np.uint8)


def e4m3_tensor(name, codes):
    from onnx import TensorProto
    tensor = TensorProto()
    tensor.name = name
    tensor.data_type = FLOAT8E4M3FN
    tensor.dims.extend(np.asarray(codes).shape)
    tensor.raw_data = np.ascontiguousarray(codes, np.uint8).tobytes()
    return tensor
