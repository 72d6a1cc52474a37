// A butterfly shuffle that only even lanes execute.
gpu.module @llm_kernels {
  gpu.func @k(%in: memref<64xf32>, %out: memref<64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
    %t = gpu.thread_id x
    %v = memref.load %in[%t] : memref<64xf32>
    memref.store %v, %out[%t] : memref<64xf32>
    %c2 = arith.constant 2 : index
    %c0 = arith.constant 0 : index
    %odd = arith.remui %t, %c2 : index
    %even = arith.cmpi eq, %odd, %c0 : index
    scf.if %even {
      %one = arith.constant 1 : i32
      %width = arith.constant 32 : i32
      %s, %ok = gpu.shuffle xor %v, %one, %width : f32
      memref.store %s, %out[%t] : memref<64xf32>
    }
    gpu.return
  }
}
