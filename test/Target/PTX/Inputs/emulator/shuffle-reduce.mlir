// y[t] = the sum of x over t's warp (butterfly shuffles), and a loop whose
// bounds depend on the thread: y[t] += t for t < 40 only via the loop
// from t to 40 in steps of 64 (one trip for t < 40, none after).
gpu.module @llm_kernels {
  gpu.func @k(%in: memref<64xf32>, %out: memref<64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
    %t = gpu.thread_id x
    %v = memref.load %in[%t] : memref<64xf32>
    %width = arith.constant 32 : i32
    %o16 = arith.constant 16 : i32
    %o8 = arith.constant 8 : i32
    %o4 = arith.constant 4 : i32
    %o2 = arith.constant 2 : i32
    %o1 = arith.constant 1 : i32
    %s16, %v16 = gpu.shuffle xor %v, %o16, %width : f32
    %a16 = arith.addf %v, %s16 : f32
    %s8, %v8 = gpu.shuffle xor %a16, %o8, %width : f32
    %a8 = arith.addf %a16, %s8 : f32
    %s4, %v4 = gpu.shuffle xor %a8, %o4, %width : f32
    %a4 = arith.addf %a8, %s4 : f32
    %s2, %v2 = gpu.shuffle xor %a4, %o2, %width : f32
    %a2 = arith.addf %a4, %s2 : f32
    %s1, %v1 = gpu.shuffle xor %a2, %o1, %width : f32
    %a1 = arith.addf %a2, %s1 : f32
    %c40 = arith.constant 40 : index
    %c64 = arith.constant 64 : index
    %r = scf.for %i = %t to %c40 step %c64 iter_args(%acc = %a1) -> (f32) {
      %ii = arith.index_cast %i : index to i32
      %f = arith.sitofp %ii : i32 to f32
      %n = arith.addf %acc, %f : f32
      scf.yield %n : f32
    }
    memref.store %r, %out[%t] : memref<64xf32>
    gpu.return
  }
}
