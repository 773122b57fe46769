;; Hostile test plugin: keeps a C-style stack pointer in a global, writes the
;; input below it and never moves it back, as a plugin with a stack could.
;; On a fresh (or properly restored) instance the stack pointer is at 32 KiB
;; and the memory below it is zero; anything else means state survived.
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

  (func (export "verdict_manifest") (result i64) (i64.const 132))
  (func (export "verdict_check_params") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 2)))
  (data (i32.const 0) "{\"abi\":1,\"name\":\"stack-scribble\",\"version\":\"1.0.0\",\"description\":\"Writes below its stack pointer and leaves it lowered\",\"params\":[]}")
  (data (i32.const 1024) "[]")
  (data (i32.const 2048) "{\"outcome\":\"fresh\",\"value\":{},\"reasons\":[{\"code\":\"first-call\",\"message\":\"no earlier evaluation left any trace\"}]}")
  (data (i32.const 2560) "{\"outcome\":\"leaked\",\"value\":{},\"reasons\":[{\"code\":\"state-survived\",\"message\":\"an earlier evaluation left state behind\"}]}")

  ;; The answer: `fresh` when $clean, else `leaked`.
  (func $answer (param $clean i32) (result i64)
    (if (result i64) (local.get $clean)
      (then (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 113)))
      (else (i64.or (i64.shl (i64.const 2560) (i64.const 32)) (i64.const 121)))))

  (global $sp (mut i32) (i32.const 32768))
  (func (export "verdict_evaluate") (param $ptr i32) (param $len i32) (result i64)
    (local $clean i32) (local $i i32) (local $n i32)
    (local.set $clean
      (i32.and (i32.eq (global.get $sp) (i32.const 32768))
        (i32.and (i64.eqz (i64.load (i32.const 32760)))
                 (i32.eqz (i32.load8_u (i32.const 28768))))))
    ;; a 4 KiB frame below the stack pointer, left allocated
    (global.set $sp (i32.sub (global.get $sp) (i32.const 4096)))
    (local.set $n (select (local.get $len) (i32.const 4000) (i32.lt_u (local.get $len) (i32.const 4000))))
    (block $done
      (loop $copy
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 offset=96 (i32.add (global.get $sp) (local.get $i))
                    (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    (i64.store (i32.const 32760) (i64.extend_i32_u (i32.add (local.get $len) (i32.const 1))))
    (i32.store8 (i32.const 28768) (i32.const 1))
    (call $answer (local.get $clean)))
)
