// A kernel in the synthesizable subset.
#include <cmath>
#include <cstdint>

static inline float square(float x) { return x * x; }

void top(const float x[64], float y[64]) {
#pragma HLS INTERFACE m_axi port=x offset=slave bundle=hbm0 depth=64
#pragma HLS INTERFACE s_axilite port=return
  static float buffer[64];
  rows: for (int64_t i = 0; i < 64; i += 1) {
  #pragma HLS PIPELINE II=1
  #pragma HLS UNROLL factor=16
    buffer[i] = square(x[i]) * 2.0f;
  }
  out: for (int64_t i = 0; i < 8; i += 1) {
    lanes: for (int64_t j = 0; j < 8; j += 1) {
    #pragma HLS PIPELINE II=1
      y[i * 8 + j] = expf(buffer[i * 8 + j]);
    }
  }
}
