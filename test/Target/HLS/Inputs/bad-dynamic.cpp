#include <cstdint>
#include <cstdlib>
#include <vector>

void top(const float x[64], float y[64], int n) {
  float *scratch = new float[n];
  float *more = (float *)malloc(64 * sizeof(float));
  std::vector<float> list(64);
  float local[64];
  float sized[n];
  copy: for (int64_t i = 0; i < 64; i += 1) {
  #pragma HLS PIPELINE II=1
    y[i] = x[i];
  }
  delete[] scratch;
  free(more);
}
