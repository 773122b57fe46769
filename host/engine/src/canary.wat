;; The reused-instance self-check: a plugin that tries every way the rewrite
;; tracks to carry state from one call to the next. Each call first checks
;; that everything is as instantiation left it, then changes all of it; it
;; answers 1 when nothing had changed, 0 when some state survived.
(module
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 4096))
  (global $count (mut i32) (i32.const 0))
  (global $wide (mut i64) (i64.const 7))
  (global $real (mut f64) (f64.const 1.5))

  (func (export "verdict_abi_v1"))
  (func (export "verdict_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (local.get $ptr) (local.get $len)))
    (local.get $ptr))
  (func (export "verdict_manifest") (result i64) (i64.const 0))
  (func (export "verdict_check_params") (param i32 i32) (result i64) (i64.const 0))

  ;; Bytes 0..16 hold data; 16 and 17 are the answers "1" and "0".
  (data (i32.const 0) "canary-data-0123")
  (data (i32.const 16) "10")

  ;; Is every cell as instantiation left it?
  (func $untouched (result i32)
    (i32.and
      (i32.and
        (i32.and
          (i32.eqz (global.get $count))
          (i64.eq (global.get $wide) (i64.const 7)))
        (i32.and
          (f64.eq (global.get $real) (f64.const 1.5))
          ;; data overwritten below
          (i32.eq (i32.load8_u (i32.const 3)) (i32.const 0x61))))
      (i32.and
        (i32.and
          ;; a store straddling two granules (bytes 510..517)
          (i64.eqz (i64.load (i32.const 510)))
          ;; a store with a static offset, in the second page
          (f64.eq (f64.load (i32.const 70000)) (f64.const 0)))
        (i32.and
          ;; the ends of a filled range and of a copied one
          (i32.and
            (i32.eqz (i32.load8_u (i32.const 100000)))
            (i32.eqz (i32.load8_u (i32.const 100299))))
          (i32.and
            (i32.eqz (i32.load8_u (i32.const 120000)))
            (i32.and
              (i32.eqz (i32.load8_u (i32.const 120015)))
              ;; the last byte of memory
              (i32.eqz (i32.load8_u (i32.const 131071)))))))))

  (func (export "verdict_evaluate") (param $ptr i32) (param $len i32) (result i64)
    (local $fresh i32)
    ;; the allocator's global was reset too: the input is where it was
    (local.set $fresh (i32.and (call $untouched) (i32.eq (local.get $ptr) (i32.const 4096))))
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.set $wide (i64.const -1))
    (global.set $real (f64.const -2))
    (i32.store8 (i32.const 3) (i32.const 0x7a))
    (i64.store (i32.const 510) (i64.const -1))
    (f64.store offset=69000 (i32.const 1000) (f64.const 3.25))
    (memory.fill (i32.const 100000) (i32.const 0xff) (i32.const 300))
    (memory.copy (i32.const 120000) (i32.const 0) (i32.const 16))
    (i32.store8 (i32.const 131071) (i32.const 1))
    ;; answer "1" or "0"
    (i64.or (i64.shl (i64.extend_i32_u (select (i32.const 16) (i32.const 17) (local.get $fresh)))
                     (i64.const 32))
            (i64.const 1)))
)
