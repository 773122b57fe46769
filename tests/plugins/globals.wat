;; Hostile test plugin: keeps counters in mutable globals of every number type
;; (and one immutable), and reports whether any was changed by an earlier
;; evaluation.
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

  (func (export "verdict_manifest") (result i64) (i64.const 102))
  (func (export "verdict_check_params") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 2)))
  (data (i32.const 0) "{\"abi\":1,\"name\":\"globals\",\"version\":\"1.0.0\",\"description\":\"Changes globals of every type\",\"params\":[]}")
  (data (i32.const 1024) "[]")
  (data (i32.const 2048) "{\"outcome\":\"fresh\",\"value\":{},\"reasons\":[{\"code\":\"first-call\",\"message\":\"no earlier evaluation left any trace\"}]}")
  (data (i32.const 2560) "{\"outcome\":\"leaked\",\"value\":{},\"reasons\":[{\"code\":\"state-survived\",\"message\":\"an earlier evaluation left state behind\"}]}")

  ;; The answer: `fresh` when $clean, else `leaked`.
  (func $answer (param $clean i32) (result i64)
    (if (result i64) (local.get $clean)
      (then (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 113)))
      (else (i64.or (i64.shl (i64.const 2560) (i64.const 32)) (i64.const 121)))))

  (global $a (mut i32) (i32.const 1))
  (global $b (mut i64) (i64.const 2))
  (global $c (mut f32) (f32.const 3))
  (global $d (mut f64) (f64.const 4))
  (global $k i32 (i32.const 5))
  (func (export "verdict_evaluate") (param $ptr i32) (param $len i32) (result i64)
    (local $clean i32)
    (local.set $clean
      (i32.and (i32.and (i32.eq (global.get $a) (i32.const 1)) (i64.eq (global.get $b) (i64.const 2)))
               (i32.and (f32.eq (global.get $c) (f32.const 3)) (f64.eq (global.get $d) (f64.const 4)))))
    (global.set $a (i32.add (global.get $a) (local.get $len)))
    (global.set $b (i64.add (global.get $b) (i64.const 1)))
    (global.set $c (f32.add (global.get $c) (f32.const 0.5)))
    (global.set $d (f64.neg (global.get $d)))
    (call $answer (i32.and (local.get $clean) (i32.eq (global.get $k) (i32.const 5)))))
)
