;; Hostile test plugin: writes with the bulk-memory instructions only, over
;; ranges that depend on the input length (across granules, and the last
;; byte of memory), and checks they were untouched when it started.
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
  (data (i32.const 0) "{\"abi\":1,\"name\":\"bulk-writes\",\"version\":\"1.0.0\",\"description\":\"Writes with memory.fill and memory.copy\",\"params\":[]}")
  (data (i32.const 1024) "[]")
  (data (i32.const 2048) "{\"outcome\":\"fresh\",\"value\":{},\"reasons\":[{\"code\":\"first-call\",\"message\":\"no earlier evaluation left any trace\"}]}")
  (data (i32.const 2560) "{\"outcome\":\"leaked\",\"value\":{},\"reasons\":[{\"code\":\"state-survived\",\"message\":\"an earlier evaluation left state behind\"}]}")

  ;; The answer: `fresh` when $clean, else `leaked`.
  (func $answer (param $clean i32) (result i64)
    (if (result i64) (local.get $clean)
      (then (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 113)))
      (else (i64.or (i64.shl (i64.const 2560) (i64.const 32)) (i64.const 121)))))

  (func (export "verdict_evaluate") (param $ptr i32) (param $len i32) (result i64)
    (local $clean i32) (local $at i32)
    (local.set $clean
      (i32.and (i32.eqz (i32.load8_u (i32.const 8192)))
        (i32.and (i32.eqz (i32.load8_u (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1))))
          (i32.and (i32.eqz (i32.load8_u (i32.const 20000)))
                   (i32.eq (i32.load8_u (i32.const 2)) (i32.const 0x61))))))
    ;; fill from 8192 to somewhere past it, set by the input length
    (memory.fill (i32.const 8192) (i32.const 0xab) (i32.add (i32.const 1) (i32.rem_u (local.get $len) (i32.const 9000))))
    ;; the input copied to 20000 + len % 500, and its last byte to the end of memory
    (local.set $at (i32.add (i32.const 20000) (i32.rem_u (local.get $len) (i32.const 500))))
    (memory.copy (i32.const 20000) (local.get $ptr) (select (local.get $len) (i32.const 8000) (i32.lt_u (local.get $len) (i32.const 8000))))
    (memory.copy (local.get $at) (i32.const 2048) (i32.const 100))
    (memory.fill (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1)) (i32.const 1) (i32.const 1))
    ;; overwrite the data segment's text in place
    (memory.copy (i32.const 0) (i32.const 2560) (i32.const 8))
    (call $answer (local.get $clean)))
)
