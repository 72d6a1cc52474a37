// y[i] = x[63 - i] * 2 through shared memory with no barrier between the
// write and the read: a race.
gpu.module @llm_kernels {
  gpu.func @k(%in: memref<64xf32>, %out: memref<64xf32>) workgroup(%tile: memref<64xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
    %t = gpu.thread_id x
    %c63 = arith.constant 63 : index
    %v = memref.load %in[%t] : memref<64xf32>
    memref.store %v, %tile[%t] : memref<64xf32, #gpu.address_space<workgroup>>
    %r = arith.subi %c63, %t : index
    %w = memref.load %tile[%r] : memref<64xf32, #gpu.address_space<workgroup>>
    %two = arith.constant 2.0 : f32
    %y = arith.mulf %w, %two : f32
    memref.store %y, %out[%t] : memref<64xf32>
    gpu.return
  }
}
