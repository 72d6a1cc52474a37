// Reads x[t + 1]: thread 63 reads past the end of the 64-element input.
gpu.module @llm_kernels {
  gpu.func @k(%in: memref<64xf32>, %out: memref<64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
    %t = gpu.thread_id x
    %c1 = arith.constant 1 : index
    %n = arith.addi %t, %c1 : index
    %v = memref.load %in[%n] : memref<64xf32>
    memref.store %v, %out[%t] : memref<64xf32>
    gpu.return
  }
}
