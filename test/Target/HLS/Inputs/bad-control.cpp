#include <cstdint>

static float fib(float x) { return x < 2.0f ? x : fib(x - 1.0f) + fib(x - 2.0f); }
static float even(int64_t n);
static float odd(int64_t n) { return n == 0 ? 0.0f : even(n - 1); }
static float even(int64_t n) { return n == 0 ? 1.0f : odd(n - 1); }

void top(const float x[64], float y[64], int n) {
  int64_t k = 0;
  while (k < 64) {
    y[k] = fib(x[k]);
    k += 1;
  }
  bounded: for (int64_t i = 0; i < n; i += 1) {
  #pragma HLS PIPELINE II=1
    y[i] = 0.0f;
  }
  slow: for (int64_t i = 0; i < 64; i += 1) {
  #pragma HLS PIPELINE II=2
    y[i] = x[i];
  }
  plain: for (int64_t i = 0; i < 64; i += 1) {
    y[i] = x[i];
  }
}
