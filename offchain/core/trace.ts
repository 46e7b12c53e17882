import { getAddress, isAddress, isHexString, type Interface, type Result } from "ethers";
import type { ZgChain } from "./chain";
import { ZgError } from "./errors";
import type { RangeLogReader } from "./log-range";

/**
 * One thing a trace follows: an agent token, a storage root, a DA payload, an operator, a provider, a user's
 * payments to a provider, a dispute, a proposal, a module's parameters, a transaction. Kinds are plain strings a
 * module's trace source declares; ids are canonical (checksummed addresses, lower-case hashes, decimal numbers).
 */
export interface TraceRef {
  kind: string;
  id: string;
}

/** One on-chain event of a trace, with when, where and by whom. */
export interface TraceEvent {
  module: string;
  contract: string;
  event: string;
  /** What happened, in one or two words ("minted", "stored", "proven", "slashed"). */
  step: string;
  /** One line for people. */
  summary: string;
  block: number;
  /** Unix seconds of the block. */
  time: number;
  tx: string;
  logIndex: number;
  /** Who did it: the account the event names as acting, else the transaction's sender. */
  actor: string;
}

/** An item of a trace tree: its events, what its module says of its present state, and the items linked to it. */
export interface TraceNode {
  ref: TraceRef;
  label: string;
  /** Its events, oldest first (none listed when the tree stops at it: see `eventCount`). */
  events: TraceEvent[];
  /** How many events are about it. */
  eventCount: number;
  /** Present state and off-chain checks, each one line (e.g. "owner 0x…", "sampled 8 cells: confidence 0.996"). */
  facts: string[];
  /** What could not be verified, each one line. */
  unverified: string[];
  children: TraceNode[];
  /** True when the tree stops here (depth reached, or the item is shown elsewhere in the tree). */
  truncated: boolean;
}

export interface Trace {
  input: string;
  chainId: number;
  head: number;
  roots: TraceNode[];
  /** Whole-trace caveats (modules absent from the deployment, limits of the reading). */
  unverified: string[];
}

/** An event a module contributes: which contract and event, what it is about, and how it reads. */
export interface TraceEventSpec {
  /** The contract's registry name. */
  contract: string;
  event: string;
  step: string;
  /** The items the event is about (each one is linked to the others). */
  about(args: Result, context: TraceContext): TraceRef[];
  summary(args: Result): string;
  /** The account acting, when the event names it (else the transaction's sender). */
  actor?(args: Result): string;
}

/** What a module can say about one of its items beyond events: its label, present state, and further links. */
export interface TraceInspection {
  label?: string;
  facts?: string[];
  unverified?: string[];
  related?: TraceRef[];
}

/** A table on the explorer page; a row with `trace` links to the trace of that item. */
export interface ExplorerPanel {
  title: string;
  columns: string[];
  rows: { cells: string[]; trace?: string }[];
}

/**
 * A module's part in `zg trace` and the explorer (`ModuleManifest.trace`): the events it contributes, the kinds of
 * item it owns, how to recognise them in what a user types, what it knows of them besides events, and its panels.
 * The engine names no module: a new module brings its own source.
 */
export interface TraceSource {
  /** The module's manifest name. */
  module: string;
  /** Each contract it reads events of (registry name → interface from its TypeChain factory). */
  interfaces: Readonly<Record<string, Interface>>;
  events: readonly TraceEventSpec[];
  /** The item kinds it owns, with a word for each ("agent": "agent token"), for prefixes and error messages. */
  kinds: Readonly<Record<string, string>>;
  /** The items of its kinds that `input` (without a prefix) names; it may ask the chain whether they exist. */
  recognise(input: string, context: TraceContext): Promise<TraceRef[]>;
  inspect?(ref: TraceRef, context: TraceContext): Promise<TraceInspection>;
  panels?(context: TraceContext): Promise<ExplorerPanel[]>;
}

/** What a source sees: the chain, the indexed events of the deployment, and addresses of deployed contracts. */
export interface TraceContext {
  chain: ZgChain;
  head: number;
  /** The unix time of the head block: "now" for jail terms and deadlines. */
  now: number;
  /** The deployed address of a contract (registry name), or undefined when it is absent. */
  address(contract: string): string | undefined;
  /** The module name a deployed contract address belongs to. */
  moduleAt(address: string): string | undefined;
  /** Every event about `ref` (any module's), oldest first. */
  eventsAbout(ref: TraceRef): TraceEvent[];
  /** The items a bare id names, in any deployed module (as `zg trace <id>` resolves it). */
  find(id: string): Promise<TraceRef[]>;
  /** Every decoded occurrence of one contract event, oldest first. */
  occurrences(contract: string, event: string): { args: Result; event: TraceEvent }[];
}

export function refKey(ref: TraceRef): string {
  return `${ref.kind}:${ref.id}`;
}

/** A 32-byte hash in canonical form, or undefined. */
export function asHash(input: string): string | undefined {
  return isHexString(input, 32) ? input.toLowerCase() : undefined;
}

/** A checksummed address, or undefined. */
export function asAddress(input: string): string | undefined {
  return isAddress(input) ? getAddress(input) : undefined;
}

/** A non-negative integer id in decimal, or undefined. */
export function asIndex(input: string): string | undefined {
  return /^\d{1,78}$/.test(input) ? BigInt(input).toString() : undefined;
}

/** The item of `kind` with canonical id `id` (undefined when the input was no such id), if any event is about it. */
export function known(context: TraceContext, kind: string, id: string | undefined): TraceRef[] {
  return id !== undefined && context.eventsAbout({ kind, id }).length > 0 ? [{ kind, id }] : [];
}

interface Indexed {
  args: Result;
  event: TraceEvent;
  about: TraceRef[];
}

export interface TraceEngineOptions {
  chain: ZgChain;
  reader: RangeLogReader;
  sources: readonly TraceSource[];
}

/**
 * Rebuilds the history of anything from chain events alone: it reads every event the deployed modules' sources
 * name (in bounded ranges, through the reader's cache), indexes each by the items it is about, and walks from the
 * item asked for to the items linked to it.
 */
export class TraceEngine {
  private index = new Map<string, Indexed[]>();
  private byEvent = new Map<string, Indexed[]>();
  private addresses = new Map<string, string>();
  private modulesByAddress = new Map<string, string>();
  private head = 0;
  private headTime = 0;

  constructor(private readonly options: TraceEngineOptions) {}

  /** The sources whose module has at least one contract deployed. */
  get sources(): TraceSource[] {
    return this.options.sources.filter((source) =>
      Object.keys(source.interfaces).some((name) => this.addresses.has(name)),
    );
  }

  /** Reads the chain up to its head (only new blocks after the first call) and rebuilds the index. */
  async refresh(): Promise<void> {
    const { chain, reader } = this.options;
    const head = await chain.provider.getBlock("latest");
    if (!head) throw new ZgError("the RPC endpoint has no latest block", "NETWORK");
    this.head = head.number;
    this.headTime = head.timestamp;
    const modules = await chain.modules();
    this.addresses = new Map(modules.map((m) => [m.name, m.address]));
    this.modulesByAddress = new Map();
    for (const source of this.options.sources)
      for (const name of Object.keys(source.interfaces)) {
        const address = this.addresses.get(name);
        if (address) this.modulesByAddress.set(address.toLowerCase(), source.module);
      }
    const context = this.context();
    const decoded: { spec: TraceEventSpec; source: TraceSource; args: Result; log: CachedLogLike }[] = [];
    for (const source of this.sources) {
      for (const [contract, iface] of Object.entries(source.interfaces)) {
        const address = this.addresses.get(contract);
        if (!address) continue;
        const specs = source.events.filter((spec) => spec.contract === contract);
        const topics = new Map(specs.map((spec) => [iface.getEvent(spec.event)!.topicHash, spec]));
        if (topics.size === 0) continue;
        for (const log of await reader.logs(address, [...topics.keys()], this.head)) {
          const spec = topics.get(log.topics[0]);
          if (!spec) continue;
          const parsed = iface.parseLog(log);
          if (parsed) decoded.push({ spec, source, args: parsed.args, log });
        }
      }
    }
    await reader.save();
    this.index = new Map();
    this.byEvent = new Map();
    decoded.sort((a, b) => a.log.blockNumber - b.log.blockNumber || a.log.index - b.log.index);
    for (const { spec, source, args, log } of decoded) {
      const event: TraceEvent = {
        module: source.module,
        contract: spec.contract,
        event: spec.event,
        step: spec.step,
        summary: spec.summary(args),
        block: log.blockNumber,
        // Filled in for the events a trace shows (`stamp`): most indexed events are never shown.
        time: 0,
        tx: log.transactionHash,
        logIndex: log.index,
        actor: spec.actor ? spec.actor(args) : "",
      };
      const entry: Indexed = { args, event, about: spec.about(args, context) };
      for (const ref of entry.about) push(this.index, refKey(ref), entry);
      push(this.index, refKey({ kind: "tx", id: log.transactionHash.toLowerCase() }), entry);
      push(this.byEvent, `${spec.contract}.${spec.event}`, entry);
    }
  }

  /** What sources see; valid after `refresh`. */
  context(): TraceContext {
    return {
      chain: this.options.chain,
      head: this.head,
      now: this.headTime,
      address: (contract) => this.addresses.get(contract),
      moduleAt: (address) => this.modulesByAddress.get(address.toLowerCase()),
      eventsAbout: (ref) => (this.index.get(refKey(ref)) ?? []).map((entry) => entry.event),
      find: (id) => this.recognise(id),
      occurrences: (contract, event) =>
        (this.byEvent.get(`${contract}.${event}`) ?? []).map(({ args, event: e }) => ({ args, event: e })),
    };
  }

  /** Every item kind the deployed sources own, with its word, plus transactions. */
  kinds(): Record<string, string> {
    return Object.assign(
      { tx: "transaction", module: "module" },
      ...this.sources.map((source) => source.kinds),
    ) as Record<string, string>;
  }

  /**
   * The items `input` names: `kind:id` names one kind; a bare id is offered to every source (and taken as a
   * transaction hash when a transaction has it). A one-line error when nothing matches.
   */
  async resolve(input: string): Promise<TraceRef[]> {
    const text = input.trim();
    const kinds = this.kinds();
    const prefixed = /^([a-z]+):(.+)$/.exec(text);
    if (prefixed && kinds[prefixed[1]]) {
      const [, kind, id] = prefixed;
      const found = await this.recognise(id, kind);
      if (found.length === 0)
        throw new ZgError(`no ${kinds[kind]} '${id}' on chain ${this.chainId}`, "NOT_FOUND");
      return found;
    }
    const found = await this.recognise(text);
    if (found.length === 0) {
      const words = Object.values(kinds).join(", ");
      const prefixes = Object.keys(kinds)
        .map((kind) => `${kind}:`)
        .join(" ");
      throw new ZgError(
        `nothing on chain ${this.chainId} matches '${text}' (give a ${words}; a prefix picks the kind: ${prefixes})`,
        "NOT_FOUND",
      );
    }
    return found;
  }

  private get chainId(): number {
    return this.options.chain.chainId;
  }

  private async recognise(id: string, kind?: string): Promise<TraceRef[]> {
    const context = this.context();
    const found: TraceRef[] = [];
    const hash = asHash(id);
    if ((!kind || kind === "tx") && hash && (await this.options.chain.provider.getTransactionReceipt(hash)))
      found.push({ kind: "tx", id: hash });
    for (const source of this.sources) {
      if ((!kind || kind === "module") && id === source.module) found.push({ kind: "module", id });
      if (kind && !source.kinds[kind]) continue;
      const refs = await source.recognise(id, context);
      found.push(...refs.filter((ref) => !kind || ref.kind === kind));
    }
    return found.filter((ref, i) => found.findIndex((other) => refKey(other) === refKey(ref)) === i);
  }

  /** Traces what `input` names, `depth` links deep (the items at the last level are listed, not expanded). */
  async trace(input: string, depth = 2): Promise<Trace> {
    await this.refresh();
    const refs = await this.resolve(input);
    const seen = new Set<string>(refs.map(refKey));
    const roots: TraceNode[] = [];
    for (const ref of refs) roots.push(await this.node(ref, depth, seen));
    await this.stamp(roots);
    const unverified = this.options.sources
      .filter((source) => !this.sources.includes(source))
      .map((source) => `module ${source.module} is not deployed on this chain: nothing of it is traced`);
    return { input, chainId: this.chainId, head: this.head, roots, unverified };
  }

  /** Gives the events the tree shows their block time, and their transaction's sender where no actor is named. */
  private async stamp(roots: TraceNode[]): Promise<void> {
    const shown: TraceEvent[] = [];
    const walk = (node: TraceNode) => {
      shown.push(...node.events);
      node.children.forEach(walk);
    };
    roots.forEach(walk);
    const { reader } = this.options;
    const times = await reader.blockTimes(shown.filter((e) => e.time === 0).map((e) => e.block));
    const senders = await reader.senders(shown.filter((e) => e.actor === "").map((e) => e.tx));
    for (const event of shown) {
      event.time ||= times.get(event.block) ?? 0;
      event.actor ||= senders.get(event.tx) ?? "";
    }
    await reader.save();
  }

  /** A transaction: who sent it where, in which block, and whether it succeeded. */
  private async inspectTransaction(hash: string, events: number): Promise<TraceInspection> {
    const receipt = await this.options.chain.provider.getTransactionReceipt(hash);
    if (!receipt) return { unverified: ["the endpoint no longer has this transaction's receipt"] };
    const module = receipt.to ? this.modulesByAddress.get(receipt.to.toLowerCase()) : undefined;
    return {
      label: `transaction ${hash}`,
      facts: [
        `block ${receipt.blockNumber}, from ${receipt.from} to ${receipt.to ?? "(a new contract)"}${module ? ` (module ${module})` : ""}, ${receipt.status === 1 ? "succeeded" : "reverted"}`,
      ],
      unverified: events === 0 ? ["none of its events is one the deployed modules' traces read"] : [],
    };
  }

  private async node(ref: TraceRef, depth: number, seen: Set<string>): Promise<TraceNode> {
    const context = this.context();
    const entries = this.index.get(refKey(ref)) ?? [];
    const source = this.sources.find((s) => s.kinds[ref.kind]);
    const inspection =
      ref.kind === "tx"
        ? await this.inspectTransaction(ref.id, entries.length)
        : ((await source?.inspect?.(ref, context)) ?? {});
    const node: TraceNode = {
      ref,
      label: inspection.label ?? `${this.kinds()[ref.kind] ?? ref.kind} ${ref.id}`,
      events: depth > 0 ? entries.map((entry) => entry.event) : [],
      eventCount: entries.length,
      facts: inspection.facts ?? [],
      unverified: inspection.unverified ?? [],
      children: [],
      truncated: false,
    };
    if (depth <= 0) {
      node.truncated = true;
      return node;
    }
    // The parameters of every module involved, when governance ever changed them.
    const modules = [...new Set(entries.map((entry) => entry.event.module))]
      .map((module) => ({ kind: "module", id: module }))
      .filter((module) => this.index.has(refKey(module)));
    const linked = [
      ...(inspection.related ?? []),
      ...entries.flatMap((entry) => entry.about.filter((other) => refKey(other) !== refKey(ref))),
      ...modules,
    ];
    const next: TraceRef[] = [];
    for (const other of linked) {
      const key = refKey(other);
      if (seen.has(key)) continue;
      seen.add(key);
      next.push(other);
    }
    for (const other of next) node.children.push(await this.node(other, depth - 1, seen));
    return node;
  }
}

type CachedLogLike = { blockNumber: number; index: number; transactionHash: string };

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
