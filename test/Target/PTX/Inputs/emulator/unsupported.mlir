// gpu.printf has no emulation.
gpu.module @llm_kernels {
  gpu.func @k(%in: memref<64xf32>, %out: memref<64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
    %t = gpu.thread_id x
    gpu.printf "thread %lld\n", %t : index
    %v = memref.load %in[%t] : memref<64xf32>
    memref.store %v, %out[%t] : memref<64xf32>
    gpu.return
  }
}
