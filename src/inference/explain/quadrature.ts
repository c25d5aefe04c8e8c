/**
 * The quadrature rule for the integrated-gradients path integral ∫₀¹ ∂F/∂x(b + α(x − b)) dα.
 *
 * [0, 1] is cut into `steps` equal intervals, further cut at the given breakpoints (where a ReLU
 * along the path switches, see relu-kinks.ts), and each piece gets 2-point Gauss–Legendre (exact for
 * cubics). On a piece where no ReLU switches, the integrand is smooth (a constant for regression, a
 * sigmoid/softmax of a linear function for classification), so the rule converges as h⁴; a fixed
 * uniform grid would straddle the gradient's jumps at ReLU switches and only converge as h.
 *
 * The points come with α = 0 (the baseline) first and α = 1 (the input) last at weight 0, so the same
 * forward pass also yields F(baseline) and F(x).
 */
export interface PathQuadrature {
  /** Path positions, ascending; alphas[0] = 0 and alphas[last] = 1. */
  alphas: number[];
  /** Weight of the gradient at each position; they sum to 1. */
  weights: number[];
}

const GL2 = 1 / Math.sqrt(3);

/** Breakpoints must lie in (0, 1); duplicates and points closer than 1e-9 collapse to one. */
export function pathQuadrature(steps: number, breakpoints: readonly number[] = []): PathQuadrature {
  const cuts = [...Array.from({ length: steps + 1 }, (_, k) => k / steps), ...breakpoints.filter((a) => a > 0 && a < 1)].sort(
    (a, b) => a - b,
  );
  const alphas = [0];
  const weights = [0];
  let prev = 0;
  for (const c of cuts) {
    const h = c - prev;
    if (h <= 1e-9) continue;
    const mid = (prev + c) / 2;
    alphas.push(mid - (h / 2) * GL2, mid + (h / 2) * GL2);
    weights.push(h / 2, h / 2);
    prev = c;
  }
  alphas.push(1);
  weights.push(0);
  return { alphas, weights };
}
