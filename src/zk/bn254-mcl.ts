// The pairing library, mcl-wasm, loaded once and pinned to BN254 as snarkjs and circom use it (STYLE rule 5: the curve
// is chosen here, where the library is called). Also the two things mcl-wasm does not wrap and proofboard needs: raw
// access to its wasm memory and its multi-Miller loop. Only the pairing modules of src/zk import mcl-wasm
// (test/zk/imports.test.ts).
import mcl from 'mcl-wasm';
import mclRaw from 'mcl-wasm/dist/mcl.js';

export { mcl, mclRaw };

/** BN254 base field modulus q: proof coordinates are elements of F_q. */
export const BASE_FIELD_MODULUS = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

let mclReady: Promise<void> | undefined;
/** Loads mcl-wasm on BN_SNARK1, the BN254 curve of snarkjs/circom (alt_bn128); every pairing module awaits this. */
export function initMcl(): Promise<void> {
  mclReady ??= mcl.init(mcl.BN_SNARK1).then(() => {
    // setStr then checks only that a point is on the curve; src/zk/curve-points.ts checks the subgroup explicitly, so
    // that a refusal says which of the two failed.
    mcl.verifyOrderG1(false);
    mcl.verifyOrderG2(false);
  });
  return mclReady;
}

/** The mcl-wasm functions called on wasm memory (mcl's C API, bn.h), with output first. */
type MclWasm = {
  /** A view of wasm memory, made anew after the memory grows (mcl.js's own HEAP32 export is the view at init). */
  readonly HEAP32: Int32Array;
  _mclBnG2_dbl(y: number, x: number): void;
  _mclBnG2_add(z: number, x: number, y: number): void;
  _mclBnG2_sub(z: number, x: number, y: number): void;
  _mclBnG2_neg(y: number, x: number): void;
  _mclBnG2_normalizeVec(y: number, x: number, n: number): void;
  _mclBnG2_isEqual(x: number, y: number): number;
  _mclBnFp_neg(y: number, x: number): void;
  _mclBnFp2_mul(z: number, x: number, y: number): void;
  _mclBn_millerLoopVec(z: number, p: number, q: number, n: number): void;
};
export const mclWasm = () => (mclRaw as unknown as { mod: MclWasm }).mod;
type MclValue = { a_: Uint32Array };
/** The words of an mcl-wasm value in mcl's C layout, as copied to and from wasm memory. */
export const words = (v: unknown) => (v as MclValue).a_;

export function frFrom(v: bigint): mcl.Fr {
  const f = new mcl.Fr();
  f.setStr(v.toString(10), 10);
  return f;
}

const MILLER_CHUNK = 32;

/**
 * Π e'(P_i, Q_i) without final exponentiation through mcl's multi-Miller loop (mclBn_millerLoopVec), which shares
 * the Fp12 squarings across pairs. mcl-wasm does not wrap it, so the arrays are copied onto the wasm stack the way
 * its own mulVec does; chunks keep the stack use small.
 */
export function millerLoopVec(ps: mcl.G1[], qs: mcl.G2[]): mcl.GT {
  let acc: mcl.GT | undefined;
  for (let off = 0; off < ps.length; off += MILLER_CHUNK) {
    const p = ps.slice(off, off + MILLER_CHUNK);
    const q = qs.slice(off, off + MILLER_CHUNK);
    const z = new mcl.GT();
    const stack = mclRaw.stackSave();
    try {
      const zPos = mclRaw.salloc(words(z));
      const pPos = mclRaw.sallocArray(p.map(words));
      const qPos = mclRaw.sallocArray(q.map(words));
      mclWasm()._mclBn_millerLoopVec(zPos, pPos, qPos, p.length);
      mclRaw.copyFromHeap32(words(z), zPos);
    } finally {
      mclRaw.stackRestore(stack);
    }
    acc = acc ? mcl.mul(acc, z) : z;
  }
  return acc!;
}
