;; Hostile test plugin: tries to count its calls in a global and in linear
;; memory, so a later evaluation could depend on an earlier one. Every call
;; runs in a fresh instance, so it must always answer `fresh`.
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
    (i64.const 106))

  ;; verdict_check_params(ptr, len) -> packed slice of "[]": no parameters, no problems.
  (func (export "verdict_check_params") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 2)))
  (data (i32.const 0) "{\"abi\":1,\"name\":\"counter\",\"version\":\"1.0.0\",\"description\":\"Tries to keep state between calls\",\"params\":[]}")
  (data (i32.const 1024) "[]")
  (data (i32.const 2048) "{\"outcome\":\"fresh\",\"value\":{},\"reasons\":[{\"code\":\"first-call\",\"message\":\"no earlier evaluation left any trace\"}]}")
  (data (i32.const 2560) "{\"outcome\":\"leaked\",\"value\":{},\"reasons\":[{\"code\":\"state-survived\",\"message\":\"an earlier evaluation left state behind\"}]}")

  ;; A counter in a global and one in linear memory (offset 3000). Both
  ;; start at 0 in every fresh instance; if either is non-zero, state
  ;; survived from an earlier evaluation and the plugin says `leaked`.
  (global $calls (mut i32) (i32.const 0))
  (func (export "verdict_evaluate") (param i32 i32) (result i64)
    (local $before i32)
    (local.set $before (i32.or (global.get $calls) (i32.load (i32.const 3000))))
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store (i32.const 3000) (i32.add (i32.load (i32.const 3000)) (i32.const 1)))
    (if (result i64) (i32.eqz (local.get $before))
      (then (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 113)))
      (else (i64.or (i64.shl (i64.const 2560) (i64.const 32)) (i64.const 121)))))
)
