;; Hostile test plugin: traps on every evaluation.
(module
  ;; Linear memory: page 0 holds the constant texts below; inputs and
  ;; outputs are bump-allocated from offset 4096 upwards.
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))

  ;; ABI v1 marker: the host refuses modules without it.
  (func (export "verdict_abi_v1"))

  ;; verdict_alloc(len) -> ptr: bump allocation, growing memory as needed.
  (func $alloc (export "verdict_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (local.get $ptr) (local.get $len)))
    (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow
        (i32.add (i32.div_u (i32.sub (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
                            (i32.const 65536))
                 (i32.const 1))))))
    (local.get $ptr))

  ;; verdict_manifest() -> packed (ptr << 32 | len) of the manifest JSON.
  (func (export "verdict_manifest") (result i64)
    (i64.const 82))

  ;; verdict_check_params(ptr, len) -> packed slice of "[]": no parameters, no problems.
  (func (export "verdict_check_params") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 2)))
  (data (i32.const 0) "{\"abi\":1,\"name\":\"trap\",\"version\":\"1.0.0\",\"description\":\"Always traps\",\"params\":[]}")
  (data (i32.const 1024) "[]")

  ;; Traps at once, as a Rust plugin does when it panics.
  (func (export "verdict_evaluate") (param i32 i32) (result i64)
    (unreachable))
)
