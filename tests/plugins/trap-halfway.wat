;; Hostile test plugin: changes a global and memory, then traps when the input
;; length is odd. An instance that trapped must never be reused half written:
;; on even inputs it reports whether an earlier call left a trace.
(module
  ;; Linear memory: page 0 holds the constant texts below; inputs and
  ;; outputs are bump-allocated from offset 40960 upwards.
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 40960))

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

  (func (export "verdict_manifest") (result i64) (i64.const 116))
  (func (export "verdict_check_params") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 2)))
  (data (i32.const 0) "{\"abi\":1,\"name\":\"trap-halfway\",\"version\":\"1.0.0\",\"description\":\"Writes state, then traps on odd inputs\",\"params\":[]}")
  (data (i32.const 1024) "[]")
  (data (i32.const 2048) "{\"outcome\":\"fresh\",\"value\":{},\"reasons\":[{\"code\":\"first-call\",\"message\":\"no earlier evaluation left any trace\"}]}")
  (data (i32.const 2560) "{\"outcome\":\"leaked\",\"value\":{},\"reasons\":[{\"code\":\"state-survived\",\"message\":\"an earlier evaluation left state behind\"}]}")

  ;; The answer: `fresh` when $clean, else `leaked`.
  (func $answer (param $clean i32) (result i64)
    (if (result i64) (local.get $clean)
      (then (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 113)))
      (else (i64.or (i64.shl (i64.const 2560) (i64.const 32)) (i64.const 121)))))

  (global $calls (mut i32) (i32.const 0))
  (func (export "verdict_evaluate") (param $ptr i32) (param $len i32) (result i64)
    (local $clean i32)
    (local.set $clean (i32.and (i32.eqz (global.get $calls)) (i32.eqz (i32.load (i32.const 12000)))))
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store (i32.const 12000) (i32.const 0xdead))
    (if (i32.and (local.get $len) (i32.const 1)) (then (unreachable)))
    (call $answer (local.get $clean)))
)
