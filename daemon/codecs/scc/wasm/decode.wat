;; SCC block decoders. `decode` (adaptive blocks) and `decodeStatic` (rANS
;; blocks) do exactly what range.ts decodeAdaptiveJs and rans.ts decodeStatic
;; do: the same arithmetic, the same checks in the same order, bit for bit.
;; Assembled by `npm run build:wasm` into decode-wasm.ts; never edit that file.
;;
;; Why wasm: per value the dual-rate update moves 2 x 16 estimators of the
;; coded table; as two u16x8 vectors per estimator that is a handful of SIMD
;; ops instead of a serial JS loop. The range coder stays 32-bit unsigned:
;; code < range <= 2^32 - 1 holds before every division (the table check
;; rejects anything else), so i32 div_u is the exact floor of range.ts.
;;
;; Memory (one 64 KiB page = 0x10000), filled by instance.ts:
;;   0x00000 SRC   block bytes, then zeros (at most 0x10000 in all); encoder: values
;;   0x10000 OUT   decoded values (at most 0x10000); encoder: the block
;;   0x20000 CC    channel class per block position (tap A = CC only)
;;   0x28000       the encoder's offset bytes (forwards)
;;   0x30000       16 table records of 128 bytes: A, the fast estimators
;;                 (u16 x 16); B, the slow ones; 8 x u16 zero; P, the inclusive
;;                 prefix sums of the coding probabilities Q = (A + B) >> 4
;;                 (u16 x 16), so P[-1] = 0 and P[15] is the table total
;;   0x30ff0       a zero byte, read in place of bytes outside the block
;;   0x30ff4       i32 detail of the last static error
;;   0x40000       engine slots, 32 KiB each:
;;     +0 ctxClass u8[256], +256 map u8[512], +768 groupBase i32[16],
;;     +832 groupSize i32[16], +896 groupOl i32[16], +960 live u16[16],
;;     +3328 group, +3584 offset, +3840 offset length per value u8[256];
;;     static: +2304 count u16[16 x 16], +2816 cumulative count u16[16 x 16],
;;     +4096 group per table x 1024 slots u8;
;;     adaptive: +20480 the initial table records (16 x 128 bytes).
;; The table totals stay far below 2^16 (the estimators of a table sum to
;; about 2^15 each and the decay only shrinks an excess; instance.ts checks the
;; initial sums), so u16 prefix sums are exact.
;;
;; Result: 0 ok; 1 value outside its table; 2 offset stream ends early;
;; 3 offset outside its group; 4 padding bits not zero; 5 streams do not meet;
;; 6 a table total of 8192 or more (never for a checked engine: the caller
;; then decodes with the JS reference).
(module
  (memory (export "memory") 12)

  (func $decode (export "decode")
    (param $n i32) (param $len i32) (param $eng i32) (param $tapA i32)
    (param $dA i32) (param $dB i32) (param $nB i32) (param $S i32)
    (param $tables i32) (param $select i32)
    (result i32)
    (local $code i32) (local $range i32) (local $p4 i32) (local $q i32)
    (local $acc i32) (local $nb i32) (local $p i32)
    (local $a i32) (local $b i32) (local $k i32) (local $base i32)
    (local $tot i32) (local $r i32) (local $t i32) (local $c i32)
    (local $s i32) (local $f i32) (local $u i32) (local $ol i32) (local $off i32) (local $sh i32) (local $w i32) (local $refill i32)
    (local $tv v128) (local $mask0 v128) (local $mask1 v128)
    (local $a0 v128) (local $a1 v128) (local $b0 v128) (local $b1 v128)
    (local $q0 v128) (local $q1 v128) (local $p0 v128) (local $p1 v128)

    ;; block start: every table back to its initial estimators
    (memory.copy (i32.const 0x30000) (i32.add (local.get $eng) (i32.const 20480)) (i32.shl (local.get $tables) (i32.const 7)))

    ;; the first four bytes, big-endian (the caller zeroes 4 bytes past the block)
    (local.set $code
      (i32.or
        (i32.or (i32.shl (i32.load8_u (i32.const 0)) (i32.const 24))
                (i32.shl (i32.load8_u (i32.const 1)) (i32.const 16)))
        (i32.or (i32.shl (i32.load8_u (i32.const 2)) (i32.const 8))
                (i32.load8_u (i32.const 3)))))
    (local.set $range (i32.const -1))
    (local.set $p4 (i32.const 4))
    (if (i32.ge_s (local.get $select) (i32.const 0))
      (then
        (local.set $code (i32.sub (local.get $code) (i32.shl (local.get $select) (i32.const 31))))
        (local.set $range (i32.const 0x80000000))))
    (local.set $q (local.get $len))

    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $n)))
        ;; context: tap A (CC or a value tap), tap B, 16 = before the block start
        (local.set $a (i32.const 0))
        (if (i32.eq (local.get $tapA) (i32.const 3))
          (then (local.set $a (i32.load8_u offset=0x20000 (local.get $p))))
          (else
            (if (i32.gt_s (local.get $dA) (i32.const 0))
              (then
                (local.set $a
                  (if (result i32) (i32.ge_s (local.get $p) (local.get $dA))
                    (then (i32.load8_u (i32.add (local.get $eng)
                            (i32.load8_u offset=0x10000 (i32.sub (local.get $p) (local.get $dA))))))
                    (else (i32.const 16))))))))
        (local.set $b (i32.const 0))
        (if (i32.gt_s (local.get $dB) (i32.const 0))
          (then
            (local.set $b
              (if (result i32) (i32.ge_s (local.get $p) (local.get $dB))
                (then (i32.load8_u (i32.add (local.get $eng)
                        (i32.load8_u offset=0x10000 (i32.sub (local.get $p) (local.get $dB))))))
                (else (i32.const 16))))))
        (local.set $k (i32.load8_u offset=256
          (i32.add (local.get $eng) (i32.add (i32.mul (local.get $a) (local.get $nB)) (local.get $b)))))
        (local.set $base (i32.shl (local.get $k) (i32.const 7)))

        ;; range decoder: r = floor(range / total), t = floor(code / r); the
        ;; group is the first s with P[s] > t, i.e. the number of P[j] <= t
        (local.set $p0 (v128.load offset=0x30050 (local.get $base)))
        (local.set $p1 (v128.load offset=0x30060 (local.get $base)))
        (local.set $tot (i16x8.extract_lane_u 7 (local.get $p1)))
        (if (i32.eqz (local.get $tot)) (then (return (i32.const 1))))
        (if (i32.ge_u (local.get $tot) (i32.const 8192)) (then (return (i32.const 6))))
        (local.set $r (i32.div_u (local.get $range) (local.get $tot)))
        (local.set $t (i32.div_u (local.get $code) (local.get $r)))
        (if (i32.ge_u (local.get $t) (local.get $tot)) (then (return (i32.const 1))))
        ;; (P and t are below 2^15, so the signed compare is exact: s = 16 - #{P > t})
        (local.set $tv (i16x8.splat (local.get $t)))
        (local.set $s (i32.sub (i32.const 16) (i32.popcnt (i8x16.bitmask (i8x16.narrow_i16x8_s
          (i16x8.gt_s (local.get $p0) (local.get $tv))
          (i16x8.gt_s (local.get $p1) (local.get $tv)))))))
        (local.set $c (i32.load16_u offset=0x3004e (i32.add (local.get $base) (i32.shl (local.get $s) (i32.const 1)))))
        (local.set $f (i32.sub (i32.load16_u offset=0x30050 (i32.add (local.get $base) (i32.shl (local.get $s) (i32.const 1))))
                               (local.get $c)))
        (local.set $code (i32.sub (local.get $code) (i32.mul (local.get $r) (local.get $c))))
        (local.set $range (i32.mul (local.get $r) (local.get $f)))

        ;; dual-rate update of table k: every lane decays, v - (v >> shift), and
        ;; the coded lane adds the difference to its increment,
        ;; v + ((2^15 - v) >> shift) (a decayed group with A < 32 and B < 256 is
        ;; a fixed point, so decaying all 16 lanes equals range.ts's active list)
        (local.set $mask0 (i16x8.eq (i16x8.splat (local.get $s)) (v128.const i16x8 0 1 2 3 4 5 6 7)))
        (local.set $mask1 (i16x8.eq (i16x8.splat (local.get $s)) (v128.const i16x8 8 9 10 11 12 13 14 15)))
        (local.set $a0 (v128.load offset=0x30000 (local.get $base)))
        (local.set $a1 (v128.load offset=0x30010 (local.get $base)))
        (local.set $b0 (v128.load offset=0x30020 (local.get $base)))
        (local.set $b1 (v128.load offset=0x30030 (local.get $base)))
        (local.set $a0 (i16x8.add (i16x8.sub (local.get $a0) (i16x8.shr_u (local.get $a0) (i32.const 5))) (v128.and (local.get $mask0) (i16x8.add (i16x8.shr_u (i16x8.sub (v128.const i16x8 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000) (local.get $a0)) (i32.const 5)) (i16x8.shr_u (local.get $a0) (i32.const 5))))))
        (local.set $a1 (i16x8.add (i16x8.sub (local.get $a1) (i16x8.shr_u (local.get $a1) (i32.const 5))) (v128.and (local.get $mask1) (i16x8.add (i16x8.shr_u (i16x8.sub (v128.const i16x8 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000) (local.get $a1)) (i32.const 5)) (i16x8.shr_u (local.get $a1) (i32.const 5))))))
        (local.set $b0 (i16x8.add (i16x8.sub (local.get $b0) (i16x8.shr_u (local.get $b0) (i32.const 8))) (v128.and (local.get $mask0) (i16x8.add (i16x8.shr_u (i16x8.sub (v128.const i16x8 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000) (local.get $b0)) (i32.const 8)) (i16x8.shr_u (local.get $b0) (i32.const 8))))))
        (local.set $b1 (i16x8.add (i16x8.sub (local.get $b1) (i16x8.shr_u (local.get $b1) (i32.const 8))) (v128.and (local.get $mask1) (i16x8.add (i16x8.shr_u (i16x8.sub (v128.const i16x8 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000) (local.get $b1)) (i32.const 8)) (i16x8.shr_u (local.get $b1) (i32.const 8))))))
        (v128.store offset=0x30000 (local.get $base) (local.get $a0))
        (v128.store offset=0x30010 (local.get $base) (local.get $a1))
        (v128.store offset=0x30020 (local.get $base) (local.get $b0))
        (v128.store offset=0x30030 (local.get $base) (local.get $b1))
        ;; Q = (A + B) >> 4 without u16 overflow (A + B may reach 2^16):
        ;; floor((A + B) / 2) = avgr_u(A, B) - ((A ^ B) & 1), then >> 3. The
        ;; reference floors Q at 1 for a non-empty group; that never binds
        ;; (A, B start >= 8, and decay stops at 31 and 255), and an empty
        ;; group stays at A = B = Q = 0
        (local.set $q0
          (i16x8.shr_u
            (i16x8.sub (i16x8.avgr_u (local.get $a0) (local.get $b0))
                       (v128.and (v128.xor (local.get $a0) (local.get $b0)) (v128.const i16x8 1 1 1 1 1 1 1 1)))
            (i32.const 3)))
        (local.set $q1
          (i16x8.shr_u
            (i16x8.sub (i16x8.avgr_u (local.get $a1) (local.get $b1))
                       (v128.and (v128.xor (local.get $a1) (local.get $b1)) (v128.const i16x8 1 1 1 1 1 1 1 1)))
            (i32.const 3)))
        ;; inclusive prefix sums: within each 4-lane half by two 64-bit shifts,
        ;; then the lower half's last lane into the upper half, then P1 += P0[7]
        (local.set $q0 (i16x8.add (local.get $q0) (i64x2.shl (local.get $q0) (i32.const 16))))
        (local.set $q1 (i16x8.add (local.get $q1) (i64x2.shl (local.get $q1) (i32.const 16))))
        (local.set $q0 (i16x8.add (local.get $q0) (i64x2.shl (local.get $q0) (i32.const 32))))
        (local.set $q1 (i16x8.add (local.get $q1) (i64x2.shl (local.get $q1) (i32.const 32))))
        (local.set $q0 (i16x8.add (local.get $q0) (i8x16.shuffle 16 17 16 17 16 17 16 17 6 7 6 7 6 7 6 7 (local.get $q0) (v128.const i32x4 0 0 0 0))))
        (local.set $q1 (i16x8.add (local.get $q1) (i8x16.shuffle 16 17 16 17 16 17 16 17 6 7 6 7 6 7 6 7 (local.get $q1) (v128.const i32x4 0 0 0 0))))
        (local.set $q1 (i16x8.add (local.get $q1) (i8x16.shuffle 14 15 14 15 14 15 14 15 14 15 14 15 14 15 14 15 (local.get $q0) (local.get $q0))))
        (v128.store offset=0x30050 (local.get $base) (local.get $q0))
        (v128.store offset=0x30060 (local.get $base) (local.get $q1))

        ;; renormalise without branches (a mispredicted branch per value costs
        ;; more than the work): range >= r >= 2^24 / 8191 needs at most two
        ;; bytes, as many as clz(range) / 8; reads past the block end give 0 (the
        ;; caller zeroes 2n + 8 bytes after the block: 2 bytes per value at most)
        (local.set $sh (i32.shl (i32.shr_u (i32.clz (local.get $range)) (i32.const 3)) (i32.const 3)))
        (local.set $w (i32.or (i32.shl (i32.load8_u (local.get $p4)) (i32.const 8))
                              (i32.load8_u offset=1 (local.get $p4))))
        (local.set $range (i32.shl (local.get $range) (local.get $sh)))
        (local.set $code (i32.or (i32.shl (local.get $code) (local.get $sh))
                                 (i32.shr_u (local.get $w) (i32.sub (i32.const 16) (local.get $sh)))))
        (local.set $p4 (i32.add (local.get $p4) (i32.shr_u (local.get $sh) (i32.const 3))))

        ;; offset bits, read backwards from the block end, also without branches:
        ;; a group of offset length 0 reads nothing and gives offset 0
        (local.set $u (i32.load offset=768 (i32.add (local.get $eng) (i32.shl (local.get $s) (i32.const 2)))))
        (local.set $ol (i32.load offset=896 (i32.add (local.get $eng) (i32.shl (local.get $s) (i32.const 2)))))
        (local.set $refill (i32.lt_s (local.get $nb) (local.get $ol)))
        (if (i32.and (local.get $refill) (i32.le_s (local.get $q) (i32.const 0))) (then (return (i32.const 2))))
        (local.set $q (i32.sub (local.get $q) (local.get $refill)))
        (local.set $acc (select
          (i32.or (i32.shl (local.get $acc) (i32.const 8)) (i32.load8_u (select (local.get $q) (i32.const 0x30ff0) (local.get $refill))))
          (local.get $acc)
          (local.get $refill)))
        (local.set $nb (i32.sub (i32.add (local.get $nb) (i32.shl (local.get $refill) (i32.const 3))) (local.get $ol)))
        (local.set $off (i32.and (i32.shr_s (local.get $acc) (local.get $nb))
          (i32.sub (i32.shl (i32.const 1) (local.get $ol)) (i32.const 1))))
        ;; (a coded group is never empty, so offset 0 always passes)
        (if (i32.ge_u (local.get $off)
              (i32.load offset=832 (i32.add (local.get $eng) (i32.shl (local.get $s) (i32.const 2)))))
          (then (return (i32.const 3))))
        (local.set $u (i32.add (local.get $u) (local.get $off)))
        ;; predictor: x[i] = u + x[i - S] (mod 256)
        (if (i32.and (i32.gt_s (local.get $S) (i32.const 0)) (i32.ge_s (local.get $p) (local.get $S)))
          (then (local.set $u (i32.add (local.get $u)
                  (i32.load8_u offset=0x10000 (i32.sub (local.get $p) (local.get $S)))))))
        (i32.store8 offset=0x10000 (local.get $p) (local.get $u))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))

    (if (i32.and (local.get $acc) (i32.sub (i32.shl (i32.const 1) (local.get $nb)) (i32.const 1)))
      (then (return (i32.const 4))))
    ;; the encoder's range-coder bytes end 2 or 3 bytes before the decoder's reads
    (if (i32.or (i32.lt_s (local.get $q) (i32.sub (local.get $p4) (i32.const 3)))
                (i32.gt_s (local.get $q) (i32.sub (local.get $p4) (i32.const 2))))
      (then (return (i32.const 5))))
    (i32.const 0))

  ;; Static block (rans.ts decodeStatic is the reference): rANS with 10-bit
  ;; counts. The caller has checked the block length, the select bit and the
  ;; initial state x0 (in [2^23, 2^31)). Counts sum to 1024 (checked per
  ;; engine), so x stays below 2^31 and i32 arithmetic is exact.
  ;; Result: 0 ok; 2 offset stream ends early; 3 offset outside its group;
  ;; 4 padding bits not zero; 10 rANS stream runs into the offset stream;
  ;; 12 final state is not 2^23; 13 bytes left between the two streams (their
  ;; number at 0x30ff4).
  (func $decodeStatic (export "decodeStatic")
    (param $n i32) (param $len i32) (param $eng i32) (param $tapA i32)
    (param $dA i32) (param $dB i32) (param $nB i32) (param $S i32) (param $x i32)
    (result i32)
    (local $p4 i32) (local $q i32) (local $acc i32) (local $nb i32) (local $p i32)
    (local $a i32) (local $b i32) (local $k i32) (local $t i32) (local $s i32) (local $i2 i32)
    (local $u i32) (local $ol i32) (local $off i32) (local $nbytes i32) (local $sh i32) (local $w i32) (local $refill i32)
    (local.set $p4 (i32.const 4))
    (local.set $q (local.get $len))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $a (i32.const 0))
        (if (i32.eq (local.get $tapA) (i32.const 3))
          (then (local.set $a (i32.load8_u offset=0x20000 (local.get $p))))
          (else
            (if (i32.gt_s (local.get $dA) (i32.const 0))
              (then
                (local.set $a
                  (if (result i32) (i32.ge_s (local.get $p) (local.get $dA))
                    (then (i32.load8_u (i32.add (local.get $eng)
                            (i32.load8_u offset=0x10000 (i32.sub (local.get $p) (local.get $dA))))))
                    (else (i32.const 16))))))))
        (local.set $b (i32.const 0))
        (if (i32.gt_s (local.get $dB) (i32.const 0))
          (then
            (local.set $b
              (if (result i32) (i32.ge_s (local.get $p) (local.get $dB))
                (then (i32.load8_u (i32.add (local.get $eng)
                        (i32.load8_u offset=0x10000 (i32.sub (local.get $p) (local.get $dB))))))
                (else (i32.const 16))))))
        (local.set $k (i32.load8_u offset=256
          (i32.add (local.get $eng) (i32.add (i32.mul (local.get $a) (local.get $nB)) (local.get $b)))))
        ;; s = slot[k][x mod 1024]; x = freq * (x >> 10) + t - cum
        (local.set $t (i32.and (local.get $x) (i32.const 1023)))
        (local.set $s (i32.load8_u offset=4096
          (i32.add (local.get $eng) (i32.add (i32.shl (local.get $k) (i32.const 10)) (local.get $t)))))
        (local.set $i2 (i32.add (local.get $eng) (i32.shl (i32.add (i32.shl (local.get $k) (i32.const 4)) (local.get $s)) (i32.const 1))))
        (local.set $x (i32.sub
          (i32.add (i32.mul (i32.load16_u offset=2304 (local.get $i2)) (i32.shr_u (local.get $x) (i32.const 10))) (local.get $t))
          (i32.load16_u offset=2816 (local.get $i2))))
        ;; renormalise without branches: x >= 2^13 here, so at most two bytes
        (local.set $nbytes (i32.add (i32.lt_u (local.get $x) (i32.const 0x800000)) (i32.lt_u (local.get $x) (i32.const 0x8000))))
        (if (i32.gt_s (i32.add (local.get $p4) (local.get $nbytes)) (local.get $q)) (then (return (i32.const 10))))
        (local.set $sh (i32.shl (local.get $nbytes) (i32.const 3)))
        (local.set $w (i32.or (i32.shl (i32.load8_u (local.get $p4)) (i32.const 8))
                              (i32.load8_u offset=1 (local.get $p4))))
        (local.set $x (i32.or (i32.shl (local.get $x) (local.get $sh))
                              (i32.shr_u (local.get $w) (i32.sub (i32.const 16) (local.get $sh)))))
        (local.set $p4 (i32.add (local.get $p4) (local.get $nbytes)))
        ;; offset bits, read backwards from the block end (as in $decode)
        (local.set $u (i32.load offset=768 (i32.add (local.get $eng) (i32.shl (local.get $s) (i32.const 2)))))
        (local.set $ol (i32.load offset=896 (i32.add (local.get $eng) (i32.shl (local.get $s) (i32.const 2)))))
        (local.set $refill (i32.lt_s (local.get $nb) (local.get $ol)))
        (if (i32.and (local.get $refill) (i32.le_s (local.get $q) (local.get $p4))) (then (return (i32.const 2))))
        (local.set $q (i32.sub (local.get $q) (local.get $refill)))
        (local.set $acc (select
          (i32.or (i32.shl (local.get $acc) (i32.const 8)) (i32.load8_u (select (local.get $q) (i32.const 0x30ff0) (local.get $refill))))
          (local.get $acc)
          (local.get $refill)))
        (local.set $nb (i32.sub (i32.add (local.get $nb) (i32.shl (local.get $refill) (i32.const 3))) (local.get $ol)))
        (local.set $off (i32.and (i32.shr_s (local.get $acc) (local.get $nb))
          (i32.sub (i32.shl (i32.const 1) (local.get $ol)) (i32.const 1))))
        (if (i32.ge_u (local.get $off)
              (i32.load offset=832 (i32.add (local.get $eng) (i32.shl (local.get $s) (i32.const 2)))))
          (then (return (i32.const 3))))
        (local.set $u (i32.add (local.get $u) (local.get $off)))
        (if (i32.and (i32.gt_s (local.get $S) (i32.const 0)) (i32.ge_s (local.get $p) (local.get $S)))
          (then (local.set $u (i32.add (local.get $u)
                  (i32.load8_u offset=0x10000 (i32.sub (local.get $p) (local.get $S)))))))
        (i32.store8 offset=0x10000 (local.get $p) (local.get $u))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (if (i32.and (local.get $acc) (i32.sub (i32.shl (i32.const 1) (local.get $nb)) (i32.const 1)))
      (then (return (i32.const 4))))
    (if (i32.ne (local.get $x) (i32.const 0x800000)) (then (return (i32.const 12))))
    (if (i32.ne (local.get $p4) (local.get $q))
      (then
        (i32.store (i32.const 0x30ff4) (i32.sub (local.get $q) (local.get $p4)))
        (return (i32.const 13))))
    (i32.const 0))

  ;; Adaptive block encoder (range.ts encodeAdaptiveJs is the reference, byte
  ;; for byte). The n >= 1 values at SRC (channel classes at CC); writes the
  ;; block at OUT, the offset bits forwards at 0x28000 first; returns its
  ;; length. low is i64 (it may carry into bit 32), as the reference's double.
  (func $encode (export "encode")
    (param $n i32) (param $eng i32) (param $tapA i32)
    (param $dA i32) (param $dB i32) (param $nB i32) (param $S i32)
    (param $tables i32) (param $select i32)
    (result i32)
    (local $low i64) (local $v i64) (local $range i32) (local $cache i32) (local $pending i32) (local $w i32) (local $carry i32)
    (local $acc i32) (local $nb i32) (local $m i32) (local $p i32) (local $x i32) (local $j i32) (local $flush i32)
    (local $a i32) (local $b i32) (local $k i32) (local $base i32)
    (local $tot i32) (local $r i32) (local $c i32)
    (local $s i32) (local $f i32) (local $u i32) (local $ol i32)
    (local $mask0 v128) (local $mask1 v128)
    (local $a0 v128) (local $a1 v128) (local $b0 v128) (local $b1 v128)
    (local $q0 v128) (local $q1 v128)
    (memory.copy (i32.const 0x30000) (i32.add (local.get $eng) (i32.const 20480)) (i32.shl (local.get $tables) (i32.const 7)))
    (local.set $range (i32.const -1))
    (local.set $w (i32.const -1)) ;; the first byte LZMA-style coders emit is always 0: skipped
    (if (i32.ge_s (local.get $select) (i32.const 0))
      (then
        (local.set $low (i64.shl (i64.extend_i32_u (local.get $select)) (i64.const 31)))
        (local.set $range (i32.const 0x80000000))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $x (i32.load8_u (local.get $p)))
        (local.set $a (i32.const 0))
        (if (i32.eq (local.get $tapA) (i32.const 3))
          (then (local.set $a (i32.load8_u offset=0x20000 (local.get $p))))
          (else
            (if (i32.gt_s (local.get $dA) (i32.const 0))
              (then
                (local.set $a
                  (if (result i32) (i32.ge_s (local.get $p) (local.get $dA))
                    (then (i32.load8_u (i32.add (local.get $eng) (i32.load8_u (i32.sub (local.get $p) (local.get $dA))))))
                    (else (i32.const 16))))))))
        (local.set $b (i32.const 0))
        (if (i32.gt_s (local.get $dB) (i32.const 0))
          (then
            (local.set $b
              (if (result i32) (i32.ge_s (local.get $p) (local.get $dB))
                (then (i32.load8_u (i32.add (local.get $eng) (i32.load8_u (i32.sub (local.get $p) (local.get $dB))))))
                (else (i32.const 16))))))
        (local.set $k (i32.load8_u offset=256
          (i32.add (local.get $eng) (i32.add (i32.mul (local.get $a) (local.get $nB)) (local.get $b)))))
        (local.set $base (i32.shl (local.get $k) (i32.const 7)))
        ;; the coded symbol: u = x - x[i - S] (mod 256) with the predictor
        (local.set $u (local.get $x))
        (if (i32.and (i32.gt_s (local.get $S) (i32.const 0)) (i32.ge_s (local.get $p) (local.get $S)))
          (then (local.set $u (i32.and (i32.sub (local.get $x) (i32.load8_u (i32.sub (local.get $p) (local.get $S)))) (i32.const 255)))))
        (local.set $s (i32.load8_u offset=3328 (i32.add (local.get $eng) (local.get $u))))
        (local.set $ol (i32.load8_u offset=3840 (i32.add (local.get $eng) (local.get $u))))
        (if (i32.gt_s (local.get $ol) (i32.const 0))
          (then
            (local.set $acc (i32.or (i32.shl (local.get $acc) (local.get $ol))
                                    (i32.load8_u offset=3584 (i32.add (local.get $eng) (local.get $u)))))
            (local.set $nb (i32.add (local.get $nb) (local.get $ol)))
            (if (i32.ge_s (local.get $nb) (i32.const 8))
              (then
                (local.set $nb (i32.sub (local.get $nb) (i32.const 8)))
                (i32.store8 offset=0x28000 (local.get $m) (i32.shr_u (local.get $acc) (local.get $nb)))
                (local.set $m (i32.add (local.get $m) (i32.const 1)))))))
        ;; low += r * P[s-1]; range = r * Q[s]
        (local.set $tot (i32.load16_u offset=0x3006e (local.get $base)))
        (local.set $c (i32.load16_u offset=0x3004e (i32.add (local.get $base) (i32.shl (local.get $s) (i32.const 1)))))
        (local.set $f (i32.sub (i32.load16_u offset=0x30050 (i32.add (local.get $base) (i32.shl (local.get $s) (i32.const 1))))
                               (local.get $c)))
        (local.set $r (i32.div_u (local.get $range) (local.get $tot)))
        (local.set $low (i64.add (local.get $low) (i64.mul (i64.extend_i32_u (local.get $r)) (i64.extend_i32_u (local.get $c)))))
        (local.set $range (i32.mul (local.get $r) (local.get $f)))
        ;; dual-rate update of table k: every lane decays, v - (v >> shift), and
        ;; the coded lane adds the difference to its increment,
        ;; v + ((2^15 - v) >> shift) (a decayed group with A < 32 and B < 256 is
        ;; a fixed point, so decaying all 16 lanes equals range.ts's active list)
        (local.set $mask0 (i16x8.eq (i16x8.splat (local.get $s)) (v128.const i16x8 0 1 2 3 4 5 6 7)))
        (local.set $mask1 (i16x8.eq (i16x8.splat (local.get $s)) (v128.const i16x8 8 9 10 11 12 13 14 15)))
        (local.set $a0 (v128.load offset=0x30000 (local.get $base)))
        (local.set $a1 (v128.load offset=0x30010 (local.get $base)))
        (local.set $b0 (v128.load offset=0x30020 (local.get $base)))
        (local.set $b1 (v128.load offset=0x30030 (local.get $base)))
        (local.set $a0 (i16x8.add (i16x8.sub (local.get $a0) (i16x8.shr_u (local.get $a0) (i32.const 5))) (v128.and (local.get $mask0) (i16x8.add (i16x8.shr_u (i16x8.sub (v128.const i16x8 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000) (local.get $a0)) (i32.const 5)) (i16x8.shr_u (local.get $a0) (i32.const 5))))))
        (local.set $a1 (i16x8.add (i16x8.sub (local.get $a1) (i16x8.shr_u (local.get $a1) (i32.const 5))) (v128.and (local.get $mask1) (i16x8.add (i16x8.shr_u (i16x8.sub (v128.const i16x8 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000) (local.get $a1)) (i32.const 5)) (i16x8.shr_u (local.get $a1) (i32.const 5))))))
        (local.set $b0 (i16x8.add (i16x8.sub (local.get $b0) (i16x8.shr_u (local.get $b0) (i32.const 8))) (v128.and (local.get $mask0) (i16x8.add (i16x8.shr_u (i16x8.sub (v128.const i16x8 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000) (local.get $b0)) (i32.const 8)) (i16x8.shr_u (local.get $b0) (i32.const 8))))))
        (local.set $b1 (i16x8.add (i16x8.sub (local.get $b1) (i16x8.shr_u (local.get $b1) (i32.const 8))) (v128.and (local.get $mask1) (i16x8.add (i16x8.shr_u (i16x8.sub (v128.const i16x8 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000) (local.get $b1)) (i32.const 8)) (i16x8.shr_u (local.get $b1) (i32.const 8))))))
        (v128.store offset=0x30000 (local.get $base) (local.get $a0))
        (v128.store offset=0x30010 (local.get $base) (local.get $a1))
        (v128.store offset=0x30020 (local.get $base) (local.get $b0))
        (v128.store offset=0x30030 (local.get $base) (local.get $b1))
        ;; Q = (A + B) >> 4 without u16 overflow (A + B may reach 2^16):
        ;; floor((A + B) / 2) = avgr_u(A, B) - ((A ^ B) & 1), then >> 3. The
        ;; reference floors Q at 1 for a non-empty group; that never binds
        ;; (A, B start >= 8, and decay stops at 31 and 255), and an empty
        ;; group stays at A = B = Q = 0
        (local.set $q0
          (i16x8.shr_u
            (i16x8.sub (i16x8.avgr_u (local.get $a0) (local.get $b0))
                       (v128.and (v128.xor (local.get $a0) (local.get $b0)) (v128.const i16x8 1 1 1 1 1 1 1 1)))
            (i32.const 3)))
        (local.set $q1
          (i16x8.shr_u
            (i16x8.sub (i16x8.avgr_u (local.get $a1) (local.get $b1))
                       (v128.and (v128.xor (local.get $a1) (local.get $b1)) (v128.const i16x8 1 1 1 1 1 1 1 1)))
            (i32.const 3)))
        ;; inclusive prefix sums: within each 4-lane half by two 64-bit shifts,
        ;; then the lower half's last lane into the upper half, then P1 += P0[7]
        (local.set $q0 (i16x8.add (local.get $q0) (i64x2.shl (local.get $q0) (i32.const 16))))
        (local.set $q1 (i16x8.add (local.get $q1) (i64x2.shl (local.get $q1) (i32.const 16))))
        (local.set $q0 (i16x8.add (local.get $q0) (i64x2.shl (local.get $q0) (i32.const 32))))
        (local.set $q1 (i16x8.add (local.get $q1) (i64x2.shl (local.get $q1) (i32.const 32))))
        (local.set $q0 (i16x8.add (local.get $q0) (i8x16.shuffle 16 17 16 17 16 17 16 17 6 7 6 7 6 7 6 7 (local.get $q0) (v128.const i32x4 0 0 0 0))))
        (local.set $q1 (i16x8.add (local.get $q1) (i8x16.shuffle 16 17 16 17 16 17 16 17 6 7 6 7 6 7 6 7 (local.get $q1) (v128.const i32x4 0 0 0 0))))
        (local.set $q1 (i16x8.add (local.get $q1) (i8x16.shuffle 14 15 14 15 14 15 14 15 14 15 14 15 14 15 14 15 (local.get $q0) (local.get $q0))))
        (v128.store offset=0x30050 (local.get $base) (local.get $q0))
        (v128.store offset=0x30060 (local.get $base) (local.get $q1))

        ;; shift out the top byte of low, propagating a carry into pending 0xFF bytes
        (block $normal
          (loop $shift
            (br_if $normal (i32.ge_u (local.get $range) (i32.const 0x1000000)))
            (local.set $range (i32.shl (local.get $range) (i32.const 8)))
          (if (i32.or (i64.lt_u (local.get $low) (i64.const 0xff000000)) (i64.ge_u (local.get $low) (i64.const 0x100000000)))
            (then
              (local.set $carry (i32.wrap_i64 (i64.shr_u (local.get $low) (i64.const 32))))
              (if (i32.ge_s (local.get $w) (i32.const 0))
                (then (i32.store8 offset=0x10000 (local.get $w) (i32.add (local.get $cache) (local.get $carry)))))
              (local.set $w (i32.add (local.get $w) (i32.const 1)))
              (block $flushed
                (loop $pend
                  (br_if $flushed (i32.eqz (local.get $pending)))
                  (i32.store8 offset=0x10000 (local.get $w) (i32.add (i32.const 255) (local.get $carry)))
                  (local.set $w (i32.add (local.get $w) (i32.const 1)))
                  (local.set $pending (i32.sub (local.get $pending) (i32.const 1)))
                  (br $pend)))
              (local.set $cache (i32.and (i32.wrap_i64 (i64.shr_u (local.get $low) (i64.const 24))) (i32.const 255))))
            (else (local.set $pending (i32.add (local.get $pending) (i32.const 1)))))
          (local.set $low (i64.shl (i64.and (local.get $low) (i64.const 0xffffff)) (i64.const 8)))
            (br $shift)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (if (i32.gt_s (local.get $nb) (i32.const 0))
      (then
        (i32.store8 offset=0x28000 (local.get $m) (i32.shl (local.get $acc) (i32.sub (i32.const 8) (local.get $nb))))
        (local.set $m (i32.add (local.get $m) (i32.const 1)))))
    ;; flush: the value with the most don't-care low bits inside [low, low + range)
    (local.set $flush (i32.const 2))
    (local.set $v (i64.shl (i64.shr_u (i64.add (local.get $low) (i64.const 0xffffff)) (i64.const 24)) (i64.const 24)))
    (if (i64.gt_u (i64.add (local.get $v) (i64.const 0x1000000)) (i64.add (local.get $low) (i64.extend_i32_u (local.get $range))))
      (then
        (local.set $flush (i32.const 3))
        (local.set $v (i64.shl (i64.shr_u (i64.add (local.get $low) (i64.const 0xffff)) (i64.const 16)) (i64.const 16)))))
    (local.set $low (local.get $v))
    (block $end
      (loop $fl
        (br_if $end (i32.eqz (local.get $flush)))
          (if (i32.or (i64.lt_u (local.get $low) (i64.const 0xff000000)) (i64.ge_u (local.get $low) (i64.const 0x100000000)))
            (then
              (local.set $carry (i32.wrap_i64 (i64.shr_u (local.get $low) (i64.const 32))))
              (if (i32.ge_s (local.get $w) (i32.const 0))
                (then (i32.store8 offset=0x10000 (local.get $w) (i32.add (local.get $cache) (local.get $carry)))))
              (local.set $w (i32.add (local.get $w) (i32.const 1)))
              (block $flushed
                (loop $pend
                  (br_if $flushed (i32.eqz (local.get $pending)))
                  (i32.store8 offset=0x10000 (local.get $w) (i32.add (i32.const 255) (local.get $carry)))
                  (local.set $w (i32.add (local.get $w) (i32.const 1)))
                  (local.set $pending (i32.sub (local.get $pending) (i32.const 1)))
                  (br $pend)))
              (local.set $cache (i32.and (i32.wrap_i64 (i64.shr_u (local.get $low) (i64.const 24))) (i32.const 255))))
            (else (local.set $pending (i32.add (local.get $pending) (i32.const 1)))))
          (local.set $low (i64.shl (i64.and (local.get $low) (i64.const 0xffffff)) (i64.const 8)))
        (local.set $flush (i32.sub (local.get $flush) (i32.const 1)))
        (br $fl)))
    ;; the offset bytes, reversed, at the end
    (block $copied
      (loop $rev
        (br_if $copied (i32.ge_s (local.get $j) (local.get $m)))
        (i32.store8 offset=0x10000 (i32.add (local.get $w) (local.get $j))
          (i32.load8_u offset=0x28000 (i32.sub (i32.sub (local.get $m) (i32.const 1)) (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rev)))
    (i32.add (local.get $w) (local.get $m)))
)
