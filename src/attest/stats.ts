// One-sided two-sample t-tests for "beats its parent" claims (DESIGN.md, "Evidence, cheapest first": GPU training is
// not bitwise reproducible, so an improvement must be shown over several runs at a stated p-value).
//
// The t distribution's CDF goes through the regularized incomplete beta function I_x(a, b):
//   for t < 0, P(T <= t) = I_{df/(df+t^2)}(df/2, 1/2) / 2                      (DLMF 8.17.1 with Abramowitz & Stegun 26.7.1)
// I_x(a, b) is evaluated with its continued fraction (DLMF 8.17.22) by the modified Lentz method, using the symmetry
// I_x(a, b) = 1 - I_{1-x}(b, a) (DLMF 8.17.4) to stay where the fraction converges fast, as in Numerical Recipes
// (3rd ed.) §6.4 "Incomplete Beta Function" and §5.2 (Lentz). ln Γ uses the Lanczos approximation (NR §6.1, g = 7,
// n = 9 coefficients), accurate to about 1e-15 relative for the arguments used here.

const LANCZOS_G = 7;
const LANCZOS_COEFFICIENTS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`logGamma: x must be finite and > 0, got ${x}`);
  if (x < 0.5) {
    // Reflection (DLMF 5.5.3) keeps the Lanczos series in its accurate range.
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  }
  const z = x - 1;
  let sum = LANCZOS_COEFFICIENTS[0]!;
  for (let i = 1; i < LANCZOS_COEFFICIENTS.length; i++) sum += LANCZOS_COEFFICIENTS[i]! / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

const CF_MAX_ITERATIONS = 10_000;
const CF_EPSILON = 1e-16;
const CF_TINY = 1e-300;

/** Continued fraction for I_x(a, b) (DLMF 8.17.22), modified Lentz. Converges fast for x < (a + 1) / (a + b + 2). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < CF_TINY) d = CF_TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= CF_MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    // Even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)).
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < CF_TINY) d = CF_TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < CF_TINY) c = CF_TINY;
    d = 1 / d;
    h *= d * c;
    // Odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < CF_TINY) d = CF_TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < CF_TINY) c = CF_TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < CF_EPSILON) return h;
  }
  // Not reached for the a, b, x of a t-test with df <= 1e6; an error here is a bug, not a verdict.
  throw new Error(`betaContinuedFraction did not converge for x=${x}, a=${a}, b=${b}`);
}

/** The regularized incomplete beta function I_x(a, b) for 0 <= x <= 1, a, b > 0 (DLMF 8.17.2). */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0) || !(b > 0)) throw new RangeError(`regularizedIncompleteBeta: a and b must be > 0, got ${a}, ${b}`);
  if (!(x >= 0 && x <= 1)) throw new RangeError(`regularizedIncompleteBeta: x must be in [0, 1], got ${x}`);
  if (x === 0) return 0;
  if (x === 1) return 1;
  // Front factor x^a (1-x)^b / (a B(a, b)), computed in logs to avoid overflow.
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  const front = Math.exp(lnFront);
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** P(T <= t) for Student's t distribution with `df` > 0 degrees of freedom (df need not be an integer). */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`studentTCdf: df must be > 0, got ${df}`);
  if (Number.isNaN(t)) throw new RangeError('studentTCdf: t is NaN');
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = 0.5 * regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t < 0 ? tail : 1 - tail;
}

export type TTestKind = 'welch-t' | 'student-t';
/** `less`: H1 is mean(a) < mean(b). `greater`: H1 is mean(a) > mean(b). */
export type Alternative = 'less' | 'greater';
export type TTestResult = { t: number; df: number; p: number; meanA: number; meanB: number };

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Unbiased sample variance (divisor n - 1). */
export function sampleVariance(xs: readonly number[]): number {
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return s / (xs.length - 1);
}

/**
 * One-sided two-sample t-test. `welch-t` uses unequal variances and the Welch–Satterthwaite degrees of freedom
 * (Welch 1947); `student-t` pools the variances (df = nA + nB - 2). Matches scipy.stats.ttest_ind(a, b,
 * equal_var=(kind === 'student-t'), alternative).
 *
 * Each sample needs at least 2 values: with one run there is no variance estimate and no test. When both samples have
 * zero variance (bitwise-deterministic runs) the standard error is 0: the result is then decided by the means alone,
 * p = 0 when they differ in the direction of H1 and p = 1 otherwise, which is the limit of the test as the spread
 * goes to 0.
 */
export function tTestOneSided(
  a: readonly number[],
  b: readonly number[],
  alternative: Alternative,
  kind: TTestKind,
): TTestResult {
  for (const [name, xs] of [['a', a], ['b', b]] as const) {
    if (xs.length < 2) throw new RangeError(`tTestOneSided: sample ${name} needs at least 2 values, got ${xs.length}`);
    if (!xs.every(Number.isFinite)) throw new RangeError(`tTestOneSided: sample ${name} has a non-finite value`);
  }
  const nA = a.length;
  const nB = b.length;
  const meanA = mean(a);
  const meanB = mean(b);
  const vA = sampleVariance(a);
  const vB = sampleVariance(b);
  let se2: number;
  let df: number;
  if (kind === 'welch-t') {
    const qa = vA / nA;
    const qb = vB / nB;
    se2 = qa + qb;
    // Welch–Satterthwaite df = se2² / (qa²/(nA-1) + qb²/(nB-1)), written with the shares qa/se2 and qb/se2 so that
    // tiny variances cannot underflow to 0/0.
    const ra = se2 === 0 ? 0 : qa / se2;
    const rb = se2 === 0 ? 0 : qb / se2;
    df = se2 === 0 ? nA + nB - 2 : 1 / ((ra * ra) / (nA - 1) + (rb * rb) / (nB - 1));
  } else {
    df = nA + nB - 2;
    const pooled = ((nA - 1) * vA + (nB - 1) * vB) / df;
    se2 = pooled * (1 / nA + 1 / nB);
  }
  const diff = meanA - meanB;
  if (se2 === 0) {
    const better = alternative === 'less' ? diff < 0 : diff > 0;
    return { t: diff === 0 ? 0 : diff > 0 ? Infinity : -Infinity, df, p: better ? 0 : 1, meanA, meanB };
  }
  const t = diff / Math.sqrt(se2);
  const p = alternative === 'less' ? studentTCdf(t, df) : studentTCdf(-t, df);
  return { t, df, p, meanA, meanB };
}
