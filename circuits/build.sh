#!/bin/sh
# Reproducible build of the proofboard circuits: compile with circom 2 (npm WebAssembly build), run or reuse a
# powers-of-tau, run the Groth16 phase-2 setup per circuit, and write circuits/build/<id>/ plus manifest.json with
# the SHA-256 of every output. Run from anywhere: `npm run build:circuits`.
#
#   PTAU=path/to/final.ptau   reuse a prepared powers-of-tau (2^16 or larger), e.g. a public ceremony's file;
#                             default: a local single-party ceremony cached in $PTAU_DIR (trust: docs/zk.md).
#   CIRCUITS="digits-mlp other-key"   which circuits to build.
#   ZKEY_ENTROPY=...          phase-2 contribution entropy (default: 32 random bytes).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"   # circom2 finds circomlib only from the folder holding node_modules (-l node_modules).
SNARKJS=node_modules/.bin/snarkjs
CIRCUITS=${CIRCUITS:-"digits-mlp other-key"}
POWER=16   # digits-mlp has 53,924 constraints: 2^16 is the smallest power that holds it
PTAU_DIR=${PTAU_DIR:-"$HOME/.cache/proofboard"}
OUT=circuits/build
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
rand() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

if [ -z "${PTAU:-}" ]; then
  PTAU="$PTAU_DIR/pot${POWER}_final.ptau"
  if [ ! -s "$PTAU" ]; then
    mkdir -p "$PTAU_DIR"
    echo "powers of tau 2^$POWER: local ceremony (phase 2 preparation takes about half an hour on 2 cores)"
    $SNARKJS powersoftau new bn128 $POWER "$TMP/pot_0.ptau"
    $SNARKJS powersoftau contribute "$TMP/pot_0.ptau" "$TMP/pot_1.ptau" --name="proofboard local" -e="$(rand)"
    $SNARKJS powersoftau beacon "$TMP/pot_1.ptau" "$TMP/pot_b.ptau" \
      0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 10 -n="proofboard beacon"
    $SNARKJS powersoftau prepare phase2 "$TMP/pot_b.ptau" "$TMP/pot_final.ptau"
    # A prepare step once ended with a truncated file and exit 0 (shared/FACTS.md): verify before trusting it.
    $SNARKJS powersoftau verify "$TMP/pot_final.ptau" | tail -1
    mv "$TMP/pot_final.ptau" "$PTAU"
  fi
fi

for C in $CIRCUITS; do
  echo "== $C"
  D="$OUT/$C"
  mkdir -p "$D" "$TMP/$C"
  npx circom2 "circuits/$C.circom" --r1cs --wasm --O2 -l node_modules -l circuits -o "$TMP/$C" | grep -E 'constraints|public|private'
  # The r1cs is not committed (14 MB for digits-mlp): the manifest keeps its hash, and the compile is reproducible
  # (test/zk/artifacts.test.ts recompiles every source and compares).
  R1CS="$TMP/$C/$C.r1cs"
  cp "$TMP/$C/${C}_js/$C.wasm" "$D/$C.wasm"
  $SNARKJS groth16 setup "$R1CS" "$PTAU" "$TMP/$C/0.zkey" >/dev/null
  $SNARKJS zkey contribute "$TMP/$C/0.zkey" "$TMP/$C/1.zkey" --name="proofboard build" -e="${ZKEY_ENTROPY:-$(rand)}" >/dev/null
  $SNARKJS zkey beacon "$TMP/$C/1.zkey" "$D/$C.zkey" \
    0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 10 -n="proofboard phase2 beacon" >/dev/null
  $SNARKJS zkey verify "$R1CS" "$PTAU" "$D/$C.zkey" | tail -1
  $SNARKJS zkey export verificationkey "$D/$C.zkey" "$D/$C.vkey.json" >/dev/null
done

node --input-type=module - "$PTAU" "$CIRCUITS" "$POWER" "$TMP" <<'JS'
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
const [ptau, circuits, power, tmp] = process.argv.slice(2);
const sha = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');
const path = 'circuits/build/manifest.json';
const manifest = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : { circuits: {} };
manifest.compiler = 'circom2 0.2.23 (circom 2.2.3), --O2';
manifest.snarkjs = JSON.parse(readFileSync('node_modules/snarkjs/package.json', 'utf8')).version;
manifest.ptau = { sha256: sha(ptau), power: Number(power) };
for (const c of circuits.split(/\s+/).filter(Boolean)) {
  const files = {};
  for (const f of readdirSync(`circuits/build/${c}`).sort()) files[f] = sha(`circuits/build/${c}/${f}`);
  files[`${c}.r1cs`] = sha(`${tmp}/${c}/${c}.r1cs`);
  files.source = sha(`circuits/${c}.circom`);
  manifest.circuits[c] = { protocol: 'groth16', curve: 'bn128', files };
}
writeFileSync(path, JSON.stringify(manifest, null, 2) + '\n');
console.log('wrote', path);
JS
