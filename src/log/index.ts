// The transparency log library: RFC 6962 trees and proofs, C2SP signed notes, checkpoints, cosignatures and the
// witness protocol's formats and decision. Pure: no I/O.
export * from './merkle.ts';
export * from './memory-tree.ts';
export * from './note.ts';
export * from './checkpoint.ts';
export * from './cosignature.ts';
export * from './witness-protocol.ts';
