;; An ABI v2 plugin whose `verdict_init` grows memory by 8 pages, past what
;; the host's restore covers for a 1-page module: its decisions must each
;; get a fresh instance, set up once, and `verdict inspect` must say so.
;; `verdict_evaluate` decides `checked` with the envelope's year and how
;; many times this instance was set up (`inits_so_far`, always 1).
(module
  ;; Page 0 holds the manifest (at 0), "[]" (at 1024) and the answer
  ;; template (at 2048); inputs are bump-allocated from 4096 upwards.
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  (global $inits (mut i32) (i32.const 0))

  ;; ABI v2 marker.
  (func (export "verdict_abi_v2"))

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

  ;; verdict_manifest() -> packed (0 << 32 | 102): the manifest JSON at 0.
  (func (export "verdict_manifest") (result i64)
    (i64.const 102))
  (data (i32.const 0) "{\"abi\":2,\"name\":\"init-grows\",\"version\":\"1.0.0\",\"description\":\"Hand-written ABI v2 plugin\",\"params\":[]}")

  ;; verdict_check_params(ptr, len) -> packed slice of "[]": no problems.
  (func (export "verdict_check_params") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 2)))
  (data (i32.const 1024) "[]")

  ;; verdict_init(ptr, len) -> an empty status (0: address 0, length 0),
  ;; meaning ok. Grows memory by 8 pages and counts the set-ups.
  (func (export "verdict_init") (param $ptr i32) (param $len i32) (result i64)
    (drop (memory.grow (i32.const 8)))
    (global.set $inits (i32.add (global.get $inits) (i32.const 1)))
    (i64.const 0))

  ;; The answer, in the binary layout of a v2 decision: tag 0 (a decision),
  ;; the outcome "checked", 2 values, "as_of_year" and "inits_so_far", each
  ;; tag 3 (u64) and 8 bytes that verdict_evaluate fills in (at offsets
  ;; 31 and 56), then 1 reason, "hand-written", with its message.
  (data (i32.const 2048) "\00\07\00\00\00checked\02\00\00\00\0a\00\00\00as_of_year\03\00\00\00\00\00\00\00\00\0c\00\00\00inits_so_far\03\00\00\00\00\00\00\00\00\01\00\00\00\0c\00\00\00hand-written/\00\00\00decided by a module written in WebAssembly text")

  ;; verdict_evaluate(ptr, len): the envelope starts with `as_of`, a u16
  ;; year, a u8 month and a u8 day.
  (func (export "verdict_evaluate") (param $ptr i32) (param $len i32) (result i64)
    (i64.store (i32.const 2079) (i64.extend_i32_u (i32.load16_u (local.get $ptr))))
    (i64.store (i32.const 2104) (i64.extend_i32_u (global.get $inits)))
    (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 135)))
)
