// Untrusted snarkjs coordinates (decimal strings) to BN254 points the pairing may use. Proof points come from clients
// and key points from storage; each is refused with a BadPoint naming the field unless it is a valid point of the
// prime-order group, because the Groth16 equation is sound only over those groups.
import { BASE_FIELD_MODULUS, mcl } from './bn254-mcl.ts';
import { isInG2Subgroup } from './g2-subgroup.ts';

/** A point that is not a valid group element; its message names the field (e.g. `shards[0].pi_b`). */
export class BadPoint extends Error {}

export function g1From(p: readonly string[], what: string): mcl.G1 {
  const [x, y] = [BigInt(p[0]!), BigInt(p[1]!)];
  if (x >= BASE_FIELD_MODULUS || y >= BASE_FIELD_MODULUS) throw new BadPoint(`${what}: coordinate not below q`);
  const g = new mcl.G1();
  try {
    g.setStr(`1 ${x} ${y}`, 10);
  } catch {
    throw new BadPoint(`${what}: not on the curve`);
  }
  // Threat: off-curve points break the pairing equation's soundness. G1 of BN254 has cofactor 1, so a point on
  // the curve is in the prime-order group and no separate subgroup check is needed.
  if (!g.isValid() || g.isZero()) throw new BadPoint(`${what}: not a valid G1 point`);
  return g;
}

export function g2From(p: readonly (readonly string[])[], what: string): mcl.G2 {
  const c = [p[0]![0]!, p[0]![1]!, p[1]![0]!, p[1]![1]!].map((s) => BigInt(s));
  if (c.some((v) => v >= BASE_FIELD_MODULUS)) throw new BadPoint(`${what}: coordinate not below q`);
  const g = new mcl.G2();
  try {
    g.setStr(`1 ${c.join(' ')}`, 10);
  } catch {
    throw new BadPoint(`${what}: not on the twist curve`);
  }
  if (!g.isValid() || g.isZero()) throw new BadPoint(`${what}: not on the twist curve`);
  // Threat: G2 of BN254 has a large cofactor; a point outside the order-r subgroup makes the pairing check
  // meaningless (small-subgroup attacks), so the subgroup is checked explicitly.
  if (!isInG2Subgroup(g)) throw new BadPoint(`${what}: not in the G2 subgroup`);
  return g;
}
