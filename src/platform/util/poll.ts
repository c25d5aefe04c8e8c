/**
 * Calls `look` every `pollMs` until it returns a value other than null, or null once `timeoutMs` is up.
 * A gateway waits this way on work another app does (`Prefer: wait=N`): each look is one short call,
 * so a long wait never rides on one transport call.
 */
export async function pollUntil<T>(look: () => Promise<T | null>, timeoutMs: number, pollMs = 100): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await look();
    if (value !== null) return value;
    if (Date.now() + pollMs > deadline) return null;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
