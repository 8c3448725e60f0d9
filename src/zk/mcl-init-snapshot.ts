// mcl's own set-up (mclBn_init: the curve's constants, Frobenius coefficients and tables), recorded once at build
// time and replayed into a fresh instance's memory by the one-file recheck (scripts/build-recheck.ts), where it is
// about a tenth of a cold re-check of one entry (~15 ms of WebAssembly on two cores).
//
// Why replaying it is the same as running it: mcl's WebAssembly module imports nothing but its memory, and its only
// mutable global is the stack pointer. So mclBn_init is a function of the memory it starts from and its arguments,
// and its whole effect is the bytes it changes. The recording holds those bytes and the SHA-256 of the memory they
// were recorded from; they are written only onto memory with that same hash (a fresh instance of the same module),
// with the same arguments and stack pointer. Anything else runs mclBn_init itself.
import { createHash } from 'node:crypto';

/** What mclBn_init did to a fresh instance: the memory it started from (hash), and the bytes it changed. */
export type MclInitRecording = {
  curveType: number;
  compiledTimeVar: number;
  stackPointer: number;
  memoryBytes: number;
  /** SHA-256 of the whole memory before mclBn_init. */
  before: string;
  /** The changed ranges: per range a little-endian u32 offset, a u32 length and the bytes; base64. */
  changes: string;
};

/** The parts of an mcl-wasm instance (the emscripten module) this uses. */
export type MclInstance = { HEAP8: Int8Array; stackSave(): number; _mclBn_init(curveType: number, compiledTimeVar: number): number };

// Unchanged runs shorter than this between two changed ones are carried along rather than starting a new range.
const MERGE_GAP = 16;

/** Runs mclBn_init on `mod`, a fresh instance, and records what it changed. */
export function recordMclInit(mod: MclInstance, curveType: number, compiledTimeVar: number): MclInitRecording {
  const before = new Uint8Array(mod.HEAP8.buffer).slice();
  const stackPointer = mod.stackSave();
  const r = mod._mclBn_init(curveType, compiledTimeVar);
  if (r !== 0) throw new Error(`mclBn_init failed (${r})`);
  const after = new Uint8Array(mod.HEAP8.buffer);
  if (after.length !== before.length) throw new Error('mclBn_init grew the memory: not recorded');
  if (mod.stackSave() !== stackPointer) throw new Error('mclBn_init moved the stack pointer: not recorded');
  const parts: Uint8Array[] = [];
  for (let i = 0; i < after.length; ) {
    if (after[i] === before[i]) {
      i++;
      continue;
    }
    let end = i + 1;
    for (let k = end; k < after.length && k < end + MERGE_GAP; k++) if (after[k] !== before[k]) end = k + 1;
    while (end < after.length && after[end] !== before[end]) end++;
    const head = new Uint8Array(8);
    new DataView(head.buffer).setUint32(0, i, true);
    new DataView(head.buffer).setUint32(4, end - i, true);
    parts.push(head, after.subarray(i, end));
    i = end;
  }
  return {
    curveType,
    compiledTimeVar,
    stackPointer,
    memoryBytes: before.length,
    before: sha256Hex(before),
    changes: Buffer.concat(parts).toString('base64'),
  };
}

/**
 * mclBn_init's result on `mod`: the recording written into its memory where it applies (the same arguments, stack
 * pointer and starting memory), else mclBn_init run as usual.
 */
export function initialiseMcl(mod: MclInstance, curveType: number, compiledTimeVar: number, recording: MclInitRecording | undefined): number {
  const memory = new Uint8Array(mod.HEAP8.buffer);
  const applies =
    recording !== undefined &&
    recording.curveType === curveType &&
    recording.compiledTimeVar === compiledTimeVar &&
    recording.memoryBytes === memory.length &&
    recording.stackPointer === mod.stackSave() &&
    recording.before === sha256Hex(memory);
  replayed = applies;
  if (!applies) return mod._mclBn_init(curveType, compiledTimeVar);
  const changes = Buffer.from(recording.changes, 'base64');
  for (let at = 0; at < changes.length; ) {
    const offset = changes.readUInt32LE(at);
    const length = changes.readUInt32LE(at + 4);
    memory.set(changes.subarray(at + 8, at + 8 + length), offset);
    at += 8 + length;
  }
  return 0;
}

let replayed: boolean | undefined;
/** Whether this process's last mcl set-up came from a recording (undefined: none yet); `--version` reports it. */
export function mclInitWasReplayed(): boolean | undefined {
  return replayed;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
