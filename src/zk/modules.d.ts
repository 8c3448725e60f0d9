// Minimal typings for the untyped packages src/zk uses; only the members called here are declared.
declare module 'circomlibjs' {
  export function buildPoseidonReference(): Promise<unknown>;
}
declare module 'snarkjs' {
  export const groth16: {
    prove(zkey: string | Uint8Array, witness: { type: 'mem'; data?: Uint8Array }): Promise<{ proof: unknown; publicSignals: string[] }>;
    verify(vkey: unknown, publicSignals: unknown, proof: unknown): Promise<boolean>;
  };
  export const wtns: {
    calculate(input: unknown, wasm: string | Uint8Array, out: { type: 'mem'; data?: Uint8Array }): Promise<void>;
    exportJson(wtns: { type: 'mem'; data?: Uint8Array }): Promise<bigint[]>;
  };
}
