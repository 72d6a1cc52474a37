/* A stand-in libcuda.so.1 for testing the CUDA runner without a GPU.
 *
 * It implements the driver entry points the runner resolves (lib/Runtime/
 * CUDA/CUDARuntime.cpp) on host memory: allocations are zero-filled host
 * buffers, copies are memcpy, kernels run nothing. Every call that matters is
 * written to $FAKE_CUDA_LOG (one line each), so a test can compare what the
 * runner did with the artifact's launch plan: the buffers it allocated, the
 * bytes it uploaded (FNV-1a hashes), each launch's kernel, grid, block,
 * dynamic shared memory and arguments (read with the parameter types of the
 * kernel's .entry in the loaded PTX; a pointer prints as the allocation it
 * points into), stream capture and graph replays.
 *
 *   FAKE_CUDA_DEVICES=N      devices reported (default 1)
 *   FAKE_CUDA_OPTIN=BYTES    shared memory per block a kernel may opt in to
 *                            (default 232448, an H100's)
 *   FAKE_CUDA_FAIL=launch    cuLaunchKernel fails (CUDA_ERROR_LAUNCH_FAILED)
 *   FAKE_CUDA_FAIL=capture   stream capture is unsupported (direct launches)
 *
 * Build: cc -shared -fPIC fake-libcuda.c -o DIR/libcuda.so.1; run the tool
 * with LD_LIBRARY_PATH=DIR.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
enum {
  OK = 0,
  ERR_INVALID_VALUE = 1,
  ERR_NO_DEVICE = 100,
  ERR_NOT_FOUND = 500,
  ERR_NOT_SUPPORTED = 801,
  ERR_LAUNCH_FAILED = 719,
};

static FILE *logFile(void) {
  static FILE *file;
  if (!file) {
    const char *path = getenv("FAKE_CUDA_LOG");
    file = path ? fopen(path, "a") : NULL;
    if (!file)
      file = stderr;
  }
  return file;
}
#define LOG(...) (fprintf(logFile(), __VA_ARGS__), fflush(logFile()))

static int failing(const char *what) {
  const char *fail = getenv("FAKE_CUDA_FAIL");
  return fail && strcmp(fail, what) == 0;
}

static uint64_t fnv1a(const void *data, size_t bytes) {
  const unsigned char *p = data;
  uint64_t hash = 1469598103934665603ull;
  for (size_t i = 0; i < bytes; ++i)
    hash = (hash ^ p[i]) * 1099511628211ull;
  return hash;
}

/* Allocations, numbered in the order they were made. */
#define MAX_ALLOCS 65536
static struct {
  char *base;
  size_t bytes;
} allocs[MAX_ALLOCS];
static int allocCount;

static int allocOf(uint64_t pointer, uint64_t *offset) {
  for (int i = 0; i < allocCount; ++i)
    if (allocs[i].base && pointer >= (uint64_t)(uintptr_t)allocs[i].base &&
        pointer < (uint64_t)(uintptr_t)allocs[i].base + allocs[i].bytes) {
      *offset = pointer - (uint64_t)(uintptr_t)allocs[i].base;
      return i;
    }
  return -1;
}

/* Functions: a kernel name and its parameter types from the PTX. */
#define MAX_PARAMS 256
typedef struct {
  char name[256];
  int count;
  char type[MAX_PARAMS]; /* 'p' 64-bit, 'i' 32-bit integer, 'f' f32 */
} Function;

static char *ptxText;

CUresult cuInit(unsigned flags) { return OK; }
CUresult cuDeviceGetCount(int *count) {
  const char *n = getenv("FAKE_CUDA_DEVICES");
  *count = n ? atoi(n) : 1;
  return *count ? OK : ERR_NO_DEVICE;
}
CUresult cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return OK;
}
CUresult cuDeviceGetAttribute(int *value, int attribute, int device) {
  const char *optin = getenv("FAKE_CUDA_OPTIN");
  *value = attribute == 97 ? (optin ? atoi(optin) : 232448) : 0;
  return OK;
}
CUresult cuDevicePrimaryCtxRetain(void **context, int device) {
  static int dummy;
  *context = &dummy;
  return OK;
}
CUresult cuDevicePrimaryCtxRelease_v2(int device) { return OK; }
CUresult cuCtxSetCurrent(void *context) { return OK; }

CUresult cuModuleLoadData(void **module, const void *image) {
  free(ptxText);
  ptxText = strdup(image);
  *module = ptxText;
  LOG("module %zu bytes\n", strlen(ptxText));
  return OK;
}
CUresult cuModuleUnload(void *module) { return OK; }

CUresult cuModuleGetFunction(void **function, void *module, const char *name) {
  /* ".entry NAME(" and its ".param .TYPE" list up to ")". */
  size_t length = strlen(name);
  for (const char *at = strstr(ptxText, ".entry"); at;
       at = strstr(at + 6, ".entry")) {
    const char *p = at + 6;
    while (*p == ' ' || *p == '\t')
      ++p;
    if (strncmp(p, name, length) != 0 ||
        (p[length] != '(' && p[length] != ' ' && p[length] != '\n'))
      continue;
    Function *f = calloc(1, sizeof(Function));
    snprintf(f->name, sizeof f->name, "%s", name);
    const char *close = strchr(p, ')');
    for (const char *q = strstr(p, ".param"); q && close && q < close;
         q = strstr(q + 6, ".param")) {
      const char *type = q + 6;
      while (*type == ' ' || *type == '\t')
        ++type;
      char kind = strncmp(type, ".f32", 4) == 0    ? 'f'
                  : strstr(type, "64") == type + 2 ? 'p'
                                                   : 'i';
      if (f->count < MAX_PARAMS)
        f->type[f->count++] = kind;
    }
    *function = f;
    return OK;
  }
  return ERR_NOT_FOUND;
}
CUresult cuFuncGetAttribute(int *value, int attribute, void *function) {
  *value = 0;
  return OK;
}
CUresult cuFuncSetAttribute(void *function, int attribute, int value) {
  LOG("opt-in %s %d bytes\n", ((Function *)function)->name, value);
  return OK;
}

CUresult cuMemAlloc_v2(uint64_t *pointer, size_t bytes) {
  if (allocCount == MAX_ALLOCS)
    return ERR_INVALID_VALUE;
  allocs[allocCount].base = calloc(1, bytes ? bytes : 1);
  allocs[allocCount].bytes = bytes;
  *pointer = (uint64_t)(uintptr_t)allocs[allocCount].base;
  LOG("alloc buffer:%d %zu bytes\n", allocCount, bytes);
  ++allocCount;
  return OK;
}
CUresult cuMemFree_v2(uint64_t pointer) {
  uint64_t offset;
  int i = allocOf(pointer, &offset);
  if (i < 0 || offset)
    return ERR_INVALID_VALUE;
  free(allocs[i].base);
  allocs[i].base = NULL;
  return OK;
}
CUresult cuMemcpyHtoD_v2(uint64_t to, const void *from, size_t bytes) {
  uint64_t offset;
  int i = allocOf(to, &offset);
  if (i < 0 || offset + bytes > allocs[i].bytes)
    return ERR_INVALID_VALUE;
  memcpy(allocs[i].base + offset, from, bytes);
  LOG("upload buffer:%d %zu bytes fnv %016llx\n", i, bytes,
      (unsigned long long)fnv1a(from, bytes));
  return OK;
}
CUresult cuMemcpyDtoH_v2(void *to, uint64_t from, size_t bytes) {
  uint64_t offset;
  int i = allocOf(from, &offset);
  if (i < 0 || offset + bytes > allocs[i].bytes)
    return ERR_INVALID_VALUE;
  memcpy(to, allocs[i].base + offset, bytes);
  LOG("download buffer:%d %zu bytes\n", i, bytes);
  return OK;
}
CUresult cuMemsetD8_v2(uint64_t to, unsigned char value, size_t bytes) {
  uint64_t offset;
  int i = allocOf(to, &offset);
  if (i < 0 || offset + bytes > allocs[i].bytes)
    return ERR_INVALID_VALUE;
  memset(allocs[i].base + offset, value, bytes);
  return OK;
}

/* Streams, capture and graphs: a graph is the launches captured into it. */
static int capturing, captured;
CUresult cuStreamCreate(void **stream, unsigned flags) {
  static int dummy;
  *stream = &dummy;
  return OK;
}
CUresult cuStreamDestroy_v2(void *stream) { return OK; }
CUresult cuStreamSynchronize(void *stream) { return OK; }
CUresult cuStreamBeginCapture_v2(void *stream, int mode) {
  if (failing("capture"))
    return ERR_NOT_SUPPORTED;
  capturing = 1;
  captured = 0;
  LOG("capture begin\n");
  return OK;
}
CUresult cuStreamEndCapture(void *stream, void **graph) {
  static int dummy;
  capturing = 0;
  *graph = &dummy;
  LOG("capture end %d launches\n", captured);
  return OK;
}
CUresult cuGraphInstantiateWithFlags(void **exec, void *graph,
                                     unsigned long long flags) {
  static int dummy;
  *exec = &dummy;
  return OK;
}
CUresult cuGraphLaunch(void *exec, void *stream) {
  LOG("graph launch %d launches\n", captured);
  return OK;
}
CUresult cuGraphExecDestroy(void *exec) { return OK; }
CUresult cuGraphDestroy(void *graph) { return OK; }

CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned shared,
                        void *stream, void **params, void **extra) {
  Function *f = function;
  if (failing("launch"))
    return ERR_LAUNCH_FAILED;
  if (capturing)
    ++captured;
  char line[16384];
  int n = snprintf(line, sizeof line,
                   "%s %s grid %u,%u,%u block %u,%u,%u shared %u args",
                   capturing ? "capture-launch" : "launch", f->name, gx, gy, gz,
                   bx, by, bz, shared);
  for (int a = 0; a < f->count && n < (int)sizeof line - 64; ++a) {
    if (f->type[a] == 'p') {
      uint64_t value, offset;
      memcpy(&value, params[a], 8);
      int i = allocOf(value, &offset);
      if (i >= 0 && offset == 0)
        n += snprintf(line + n, sizeof line - n, " buffer:%d", i);
      else if (i >= 0)
        n += snprintf(line + n, sizeof line - n, " buffer:%d+%llu", i,
                      (unsigned long long)offset);
      else
        n += snprintf(line + n, sizeof line - n, " i64:%lld", (long long)value);
    } else if (f->type[a] == 'f') {
      float value;
      memcpy(&value, params[a], 4);
      n += snprintf(line + n, sizeof line - n, " f32:%.9g", value);
    } else {
      int32_t value;
      memcpy(&value, params[a], 4);
      n += snprintf(line + n, sizeof line - n, " i32:%d", value);
    }
  }
  LOG("%s\n", line);
  return OK;
}

CUresult cuEventCreate(void **event, unsigned flags) {
  static int dummy;
  *event = &dummy;
  return OK;
}
CUresult cuEventRecord(void *event, void *stream) { return OK; }
CUresult cuEventSynchronize(void *event) { return OK; }
CUresult cuEventElapsedTime(float *ms, void *start, void *stop) {
  *ms = 1.0f;
  return OK;
}
CUresult cuEventElapsedTime_v2(float *ms, void *start, void *stop) {
  *ms = 1.0f;
  return OK;
}
CUresult cuEventDestroy_v2(void *event) { return OK; }
CUresult cuGetErrorString(CUresult result, const char **text) {
  switch (result) {
  case ERR_LAUNCH_FAILED:
    *text = "unspecified launch failure (fake)";
    return OK;
  case ERR_NOT_FOUND:
    *text = "named symbol not found (fake)";
    return OK;
  case ERR_NO_DEVICE:
    *text = "no CUDA-capable device is detected (fake)";
    return OK;
  default:
    *text = "fake CUDA error";
    return OK;
  }
}
