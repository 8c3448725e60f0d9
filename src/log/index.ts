// The transparency log library: RFC 6962 trees and proofs, C2SP signed notes and checkpoints. Pure: no I/O.
export * from './merkle.ts';
export * from './memory-tree.ts';
export * from './note.ts';
export * from './checkpoint.ts';
