// y[t] = x[0] + x[2t mod 64] for 64 threads, two warps: each warp's lanes
// all read the one float x[0] (128 bytes asked, one 32-byte sector), their
// strided loads ask 128 bytes spread over 256 (8 sectors), and their stores
// write 128 consecutive bytes (4 sectors).
gpu.module @llm_kernels {
  gpu.func @k(%in: memref<64xf32>, %out: memref<64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
    %t = gpu.thread_id x
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %c64 = arith.constant 64 : index
    %first = memref.load %in[%c0] : memref<64xf32>
    %twice = arith.muli %t, %c2 : index
    %i = arith.remui %twice, %c64 : index
    %v = memref.load %in[%i] : memref<64xf32>
    %y = arith.addf %first, %v : f32
    memref.store %y, %out[%t] : memref<64xf32>
    gpu.return
  }
}
