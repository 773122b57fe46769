;; Hostile test plugin: grows memory by one page when the input length is a
;; multiple of three and writes into the new page; the next evaluation must
;; start with the initial memory size again.
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

  (func (export "verdict_manifest") (result i64) (i64.const 122))
  (func (export "verdict_check_params") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 2)))
  (data (i32.const 0) "{\"abi\":1,\"name\":\"grow-and-write\",\"version\":\"1.0.0\",\"description\":\"Grows memory and writes into the new pages\",\"params\":[]}")
  (data (i32.const 1024) "[]")
  (data (i32.const 2048) "{\"outcome\":\"fresh\",\"value\":{},\"reasons\":[{\"code\":\"first-call\",\"message\":\"no earlier evaluation left any trace\"}]}")
  (data (i32.const 2560) "{\"outcome\":\"leaked\",\"value\":{},\"reasons\":[{\"code\":\"state-survived\",\"message\":\"an earlier evaluation left state behind\"}]}")

  ;; The answer: `fresh` when $clean, else `leaked`.
  (func $answer (param $clean i32) (result i64)
    (if (result i64) (local.get $clean)
      (then (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 113)))
      (else (i64.or (i64.shl (i64.const 2560) (i64.const 32)) (i64.const 121)))))

  (func (export "verdict_evaluate") (param $ptr i32) (param $len i32) (result i64)
    (local $clean i32) (local $old i32)
    ;; at most the pages the allocator grew for this input
    (local.set $clean (i32.eqz (i32.load (i32.const 16000))))
    (local.set $clean (i32.and (local.get $clean)
      (i32.le_u (memory.size) (i32.add (i32.const 1) (i32.shr_u (i32.add (local.get $ptr) (local.get $len)) (i32.const 16))))))
    (i32.store (i32.const 16000) (i32.const 7))
    (if (i32.eqz (i32.rem_u (local.get $len) (i32.const 3)))
      (then
        (local.set $old (memory.grow (i32.const 1)))
        (i64.store (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 8)) (i64.const -1))))
    (call $answer (local.get $clean)))
)
