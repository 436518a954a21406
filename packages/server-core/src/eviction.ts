/** A connection that could give its slot up: silent since it came (unproven) or idle, for `idleMs`. */
export interface SlotCandidate<T> {
  connection: T;
  unproven: boolean;
  idleMs: number;
}

/**
 * Which connection gives its slot to a new one when the server is full (protocol.md §7): the
 * oldest unproven one held for at least `graceMs`, else the one idle longest, if for `graceMs`.
 * One rule for a server and for a primary choosing among its workers' connections.
 */
export function chooseVictim<T>(candidates: Iterable<SlotCandidate<T>>, graceMs: number): SlotCandidate<T> | undefined {
  let victim: SlotCandidate<T> | undefined;
  for (const candidate of candidates) {
    if (candidate.idleMs < graceMs) continue;
    if (!victim || (candidate.unproven && !victim.unproven) || (candidate.unproven === victim.unproven && candidate.idleMs > victim.idleMs)) victim = candidate;
  }
  return victim;
}
