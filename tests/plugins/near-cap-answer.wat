;; Hostile test plugin: a valid decision of almost 64 KiB, the most one
;; answer may be (60479 bytes: fifteen reasons, each with a message of
;; 4,000 bytes, under the 4 KiB a message may have). Within every bound
;; per decision, so only a bound per request or chunk keeps many of them
;; from filling the host's memory.
(module
  ;; Page 0 holds the constant texts below, page 1 the answer; inputs are
  ;; bump-allocated from page 2 upwards.
  (memory (export "memory") 3)
  (global $next (mut i32) (i32.const 131072))

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
    (i64.const 116))

  ;; verdict_check_params(ptr, len) -> packed slice of "[]": no parameters, no problems.
  (func (export "verdict_check_params") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 2)))
  (data (i32.const 0) "{\"abi\":1,\"name\":\"near-cap-answer\",\"version\":\"1.0.0\",\"description\":\"Answers a decision of almost 64 KiB\",\"params\":[]}")
  (data (i32.const 1024) "[]")
  (data (i32.const 2048) "{\"outcome\":\"checked\",\"value\":{},\"reasons\":[")
  (data (i32.const 2304) "{\"code\":\"long\",\"message\":\"")

  ;; verdict_evaluate(ptr, len): writes the decision at page 1 and answers it:
  ;;   {'outcome':'checked','value':{},'reasons':[{'code':'long','message':'xxx…'},…]}
  (func (export "verdict_evaluate") (param i32 i32) (result i64)
    (local $at i32) (local $i i32)
    (memory.copy (i32.const 65536) (i32.const 2048) (i32.const 43))
    (local.set $at (i32.const 65579))
    (loop $reason
      (if (local.get $i)
        (then
          (i32.store8 (local.get $at) (i32.const 44)) ;; ,
          (local.set $at (i32.add (local.get $at) (i32.const 1)))))
      (memory.copy (local.get $at) (i32.const 2304) (i32.const 26))
      (local.set $at (i32.add (local.get $at) (i32.const 26)))
      (memory.fill (local.get $at) (i32.const 120) (i32.const 4000)) ;; x
      (local.set $at (i32.add (local.get $at) (i32.const 4000)))
      (i32.store16 (local.get $at) (i32.const 0x7d22)) ;; "}
      (local.set $at (i32.add (local.get $at) (i32.const 2)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $reason (i32.lt_u (local.get $i) (i32.const 15))))
    (i32.store16 (local.get $at) (i32.const 0x7d5d)) ;; ]}
    (local.set $at (i32.add (local.get $at) (i32.const 2)))
    (i64.or (i64.shl (i64.const 65536) (i64.const 32))
            (i64.extend_i32_u (i32.sub (local.get $at) (i32.const 65536)))))
)
