/**
 * What `npm run verify` found wrong, as data a worker thread can post back, and the one line each
 * is printed as. Findings about consecutive seqs of one kind are kept as one run, so that a
 * deleted range or a column wiped over a million rows is one line, not a million.
 */

/** The reason a finding is named by: what was done to the log. */
export type Reason = 'inserted' | 'deleted' | 'edited' | 'reordered' | 'truncated' | 're-signed' | 'rewritten' | 'damaged';

/** What is true of every seq of a run. */
export type RunKind = 'missing' | 'leaf-without-event' | 'event-without-leaf' | 'no-chain-hash' | 'not-its-leaf' | 'chain-broken';

export type Finding =
  /** About one event. */
  | { kind: 'event'; reason: Reason; seq: number; id: string; detail: string }
  /**
   * About each seq from `from` to `to`; `id` is the event at `from` (named when the run is of one),
   * `after` what the text of no-chain-hash cites.
   */
  | { kind: 'run'; reason: Reason; run: RunKind; from: number; to: number; id?: string; after?: number }
  /** About anything else: a node, a checkpoint, the database. */
  | { kind: 'other'; reason: Reason; detail: string };

/** Adds `finding` to `findings`, extending the last one when it is a run of the same kind that ends just before. */
export function addFinding(findings: Finding[], finding: Finding): void {
  const last = findings[findings.length - 1];
  if (finding.kind === 'run' && last?.kind === 'run' && last.run === finding.run && last.to + 1 === finding.from) {
    last.to = finding.to;
    return;
  }
  findings.push(finding);
}

/** What `finding` says, after its reason. */
export function describeFinding(finding: Finding): string {
  if (finding.kind === 'other') return finding.detail;
  if (finding.kind === 'event') return `event ${finding.id} (seq ${finding.seq}) ${finding.detail}`;
  const { from, to } = finding;
  const one = from === to;
  const seqs = one ? `seq ${from}` : `seqs ${from} to ${to} (${to - from + 1})`;
  const events = one && finding.id !== undefined ? `event ${finding.id} (seq ${from})` : `the ${one ? 'event' : 'events'} at ${seqs}`;
  switch (finding.run) {
    case 'missing':
      return `${seqs} ${one ? 'has' : 'have'} neither an event nor a leaf in the tree: ${one ? 'its event was' : 'their events were'} removed with ${one ? 'its leaf' : 'their leaves'}`;
    case 'leaf-without-event':
      return `${seqs} ${one ? 'has' : 'have'} a leaf in the tree but no event: ${one ? 'its event was' : 'their events were'} removed`;
    case 'event-without-leaf':
      return `the ${one ? 'event' : 'events'} at ${seqs} ${one ? 'has' : 'have'} no leaf in the tree: ${one ? 'it was' : 'they were'} added behind the service's back, or ${one ? 'its leaf was' : 'their leaves were'} removed`;
    case 'not-its-leaf':
      return `${events} ${one ? 'does' : 'do'} not match ${one ? 'its leaf' : 'their leaves'} in the tree: ${one ? 'its' : 'their'} fields or data were changed`;
    case 'chain-broken':
      return `${events} ${one ? 'breaks' : 'break'} the chain: ${one ? 'its chain hash does' : 'their chain hashes do'} not match ${one ? 'it' : 'them'} and the event before, or the chain secret is not the one that made ${one ? 'it' : 'them'}`;
    case 'no-chain-hash':
      return `the ${one ? 'event' : 'events'} at ${seqs} ${one ? 'has' : 'have'} no chain hash, yet ${one ? 'it was' : 'they were'} written after the tree began (the first checkpoint covers ${finding.after ?? 0} events): ${one ? 'its chain hash was' : 'their chain hashes were'} removed`;
  }
}
