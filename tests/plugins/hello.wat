;; A well-behaved Verdict plugin written by hand in WebAssembly text, without
;; the SDK: it shows that plugin-sdk/ABI.md is all one needs to write a plugin
;; in any language. It decides `checked` for everyone and reports the size of
;; the input it was given.
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
    (i64.const 101))

  ;; verdict_check_params(ptr, len) -> packed slice of "[]": no parameters, no problems.
  (func (export "verdict_check_params") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 2)))
  (data (i32.const 0) "{\"abi\":1,\"name\":\"hello-wat\",\"version\":\"1.0.0\",\"description\":\"Hand-written ABI v1 plugin\",\"params\":[]}")
  (data (i32.const 1024) "[]")
  (data (i32.const 2048) "{\"outcome\":\"checked\",\"value\":{\"input_bytes\":")
  (data (i32.const 2560) "},\"reasons\":[{\"code\":\"hand-written\",\"message\":\"decided by a module written in WebAssembly text\"}]}")

  ;; verdict_evaluate(ptr, len): answers a decision whose value reports how
  ;; many input bytes it received, written in decimal:
  ;;   {'outcome':'checked','value':{'input_bytes':<len>},'reasons':[{'code':'hand-written','message':'decided by a module written in WebAssembly text'}]}
  (func (export "verdict_evaluate") (param $ptr i32) (param $len i32) (result i64)
    (local $out i32) (local $end i32) (local $digits i32) (local $n i32) (local $i i32)
    ;; Digits of $len, most significant first, into a scratch area at 3072.
    (local.set $n (local.get $len))
    (local.set $i (i32.const 3100))
    (loop $digit
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (local.get $i) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (i32.ne (local.get $n) (i32.const 0))))
    (local.set $digits (i32.sub (i32.const 3100) (local.get $i)))
    ;; Output = prefix, digits, suffix, in a fresh buffer.
    (local.set $out (call $alloc (i32.add (i32.const 142) (local.get $digits))))
    (memory.copy (local.get $out) (i32.const 2048) (i32.const 44))
    (local.set $end (i32.add (local.get $out) (i32.const 44)))
    (memory.copy (local.get $end) (local.get $i) (local.get $digits))
    (local.set $end (i32.add (local.get $end) (local.get $digits)))
    (memory.copy (local.get $end) (i32.const 2560) (i32.const 98))
    (local.set $end (i32.add (local.get $end) (i32.const 98)))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
            (i64.extend_i32_u (i32.sub (local.get $end) (local.get $out)))))
)
