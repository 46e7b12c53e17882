import {
  decodeBytes32String,
  encodeBytes32String,
  JsonRpcProvider,
  Network,
  NonceManager,
  type BaseContract,
  type ContractTransaction,
  type DeferredTopicFilter,
  type Result,
  type ContractTransactionResponse,
  type TransactionResponse,
  type Signer,
  type TransactionReceipt,
  type Wallet,
} from "ethers";
import { ModuleRegistry__factory, type ModuleRegistry } from "../../typechain-types";
import type { ChainConfig } from "./config";
import { readDeployment } from "./deployments";
import { toZgError, ZgError } from "./errors";
import { loadWallet } from "./keys";
import { RangeLogReader } from "./log-range";
import { signDigest } from "./signatures";

export interface ModuleInfo {
  name: string;
  address: string;
  version: string;
}

/** An event found in the chain's logs (`ZgChain.findEvents`). */
export interface FoundEvent {
  name: string;
  args: Result;
  blockNumber: number;
  transactionHash: string;
}

const RPC_TIMEOUT_MS = 10_000;

/**
 * A connection to one chain and its zerog-stack deployment: the only path from the SDK to the chain.
 * Modules are found through the ModuleRegistry, never by hard-coded address.
 */
export class ZgChain {
  private constructor(
    readonly provider: JsonRpcProvider,
    readonly chainId: number,
    readonly network: string,
    readonly registry: ModuleRegistry,
    readonly registryAddress: string,
    private readonly wallet: Wallet | undefined,
    private readonly sender: Signer | undefined,
  ) {}

  /** Submissions wait here and go out one at a time, urgent ones (challenge answers) first. */
  private readonly queue: { urgent: boolean; run: () => Promise<void> }[] = [];
  private start: Promise<number> | undefined;
  private logReader: Promise<RangeLogReader> | undefined;
  private submitting = false;

  /** Runs `work` when every submission ahead of it has gone out; an urgent one overtakes the others waiting. */
  private enqueue<T>(urgent: boolean, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = () => work().then(resolve, reject);
      if (urgent) {
        const firstPlain = this.queue.findIndex((entry) => !entry.urgent);
        this.queue.splice(firstPlain < 0 ? this.queue.length : firstPlain, 0, { urgent, run });
      } else {
        this.queue.push({ urgent, run });
      }
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.submitting) return;
    this.submitting = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) await next.run();
    } finally {
      this.submitting = false;
    }
  }

  /** Connects to the configured RPC endpoint, checks the chain id and finds the registry. */
  static async connect(config: ChainConfig, options: { requireKey?: boolean } = {}): Promise<ZgChain> {
    const chainId = await probeChainId(config.rpcUrl);
    if (config.expectedChainId !== undefined && chainId !== config.expectedChainId) {
      throw new ZgError(
        `the endpoint ${config.rpcUrl} serves chain ${chainId}, not ${config.network} (chain ${config.expectedChainId})`,
        "BAD_CONFIG",
      );
    }
    const provider = new JsonRpcProvider(config.rpcUrl, Network.from(chainId), {
      staticNetwork: true,
      // ethers otherwise answers identical requests from a 250 ms cache: a call retried right after the
      // state changed (say, an operator admitted) would see the old revert.
      cacheTimeout: -1,
      pollingInterval: chainId === 31337 ? 200 : 1000,
      // Calls made together still go in one batch; a lone call is not held 10 ms (the default) for company.
      batchStallTime: 0,
    });
    const registryAddress = config.registry ?? readDeployment(chainId)?.registry;
    if (!registryAddress) {
      throw new ZgError(
        `no zerog-stack deployment is known on chain ${chainId}: run 'zg deploy' or pass --registry <address>`,
        "NOT_FOUND",
      );
    }
    if ((await provider.getCode(registryAddress)) === "0x") {
      throw new ZgError(
        `there is no contract at registry ${registryAddress} on chain ${chainId}`,
        "NOT_FOUND",
      );
    }
    if (options.requireKey && !config.key) {
      throw new ZgError(
        "this command signs transactions: pass --key <keystore> or --private-key",
        "BAD_CONFIG",
      );
    }
    const wallet = config.key ? (await loadWallet(config.key)).connect(provider) : undefined;
    const sender = wallet ? new NonceManager(wallet) : undefined;
    const registry = ModuleRegistry__factory.connect(registryAddress, sender ?? provider);
    return new ZgChain(provider, chainId, config.network, registry, registryAddress, wallet, sender);
  }

  /** The address of the configured key, or undefined for a read-only connection. */
  get address(): string | undefined {
    return this.wallet?.address;
  }

  /** The signer for transactions (nonces managed locally); throws when no key is configured. */
  get signer(): Signer {
    this.requireWallet();
    return this.sender as Signer;
  }

  /** The configured key's uncompressed public key (64 bytes hex, no 0x04 prefix). */
  get publicKey(): string {
    return `0x${this.requireWallet().signingKey.publicKey.slice(4)}`;
  }

  /**
   * The configured private key, for decrypting what was sealed to this account in this process (iNFT keys);
   * it never leaves the process.
   */
  get privateKey(): string {
    return this.requireWallet().privateKey;
  }

  /** Signs a 32-byte digest (an EIP-712 message) with the configured key. */
  signDigest(digest: string): string {
    return signDigest(this.requireWallet().privateKey, digest);
  }

  private requireWallet(): Wallet {
    if (!this.wallet)
      throw new ZgError(
        "this command signs transactions: pass --key <keystore> or --private-key",
        "BAD_CONFIG",
      );
    return this.wallet;
  }

  /** The signer when there is one, else the provider: what read-only contract handles connect to. */
  get runner(): Signer | JsonRpcProvider {
    return this.sender ?? this.provider;
  }

  /** The address of a deployed module; throws a clear error when the module is absent. */
  async moduleAddress(name: string): Promise<string> {
    const address = await this.registry.tryGetModule(encodeBytes32String(name));
    if (address === "0x0000000000000000000000000000000000000000") {
      throw new ZgError(
        `module ${name} is not deployed on chain ${this.chainId} (see 'zg modules')`,
        "MODULE_ABSENT",
      );
    }
    return address;
  }

  /**
   * The first block any contract of this deployment can have logged in: the deployment record's, when it is this
   * registry's, else the block the registry's code appeared in (a bisection over the chain, about 25 calls, once).
   */
  deploymentStart(): Promise<number> {
    this.start ??= (async () => {
      const record = readDeployment(this.chainId);
      if (record && record.registry.toLowerCase() === this.registryAddress.toLowerCase())
        return record.startBlock;
      let low = 0;
      let high = await this.provider.getBlockNumber();
      while (low < high) {
        const middle = Math.floor((low + high) / 2);
        if ((await this.provider.getCode(this.registryAddress, middle)) === "0x") low = middle + 1;
        else high = middle;
      }
      return low;
    })();
    this.start.catch(() => (this.start = undefined));
    return this.start;
  }

  /**
   * The events of `contract` that match `filter` (all of its events without one) since the deployment started,
   * oldest first, decoded. Read in block ranges that an endpoint accepts (public endpoints cap `eth_getLogs`; a
   * refused range is split), never in one query over the whole chain.
   */
  async findEvents(contract: BaseContract, filter?: DeferredTopicFilter): Promise<FoundEvent[]> {
    this.logReader ??= this.deploymentStart().then(
      (startBlock) => new RangeLogReader({ provider: this.provider, startBlock }),
    );
    this.logReader.catch(() => (this.logReader = undefined));
    const [reader, head, address, topics] = await Promise.all([
      this.logReader,
      this.provider.getBlockNumber(),
      contract.getAddress(),
      filter ? filter.getTopicFilter() : [],
    ]);
    return (await reader.find(address, topics, head)).flatMap((log) => {
      const parsed = contract.interface.parseLog(log);
      return parsed
        ? [
            {
              name: parsed.name,
              args: parsed.args,
              blockNumber: log.blockNumber,
              transactionHash: log.transactionHash,
            },
          ]
        : [];
    });
  }

  /** Every deployed module with its address and version. */
  async modules(): Promise<ModuleInfo[]> {
    const names = await this.registry.moduleNames();
    const infos = await Promise.all(
      names.map(async (raw) => ({
        name: decodeBytes32String(raw),
        address: await this.registry.getModule(raw),
        version: await this.registry.moduleVersion(raw),
      })),
    );
    return infos.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Sends a transaction and waits for it, turning reverts and funding problems into one-line errors. */
  async send(
    action: string,
    submit: () => Promise<ContractTransactionResponse>,
  ): Promise<TransactionReceipt> {
    try {
      // Submissions go out one at a time, so nonces reach the node in order even when callers send
      // concurrently (an automining node refuses a nonce from the future); receipts are awaited in parallel.
      const response = await this.enqueue(false, submit);
      const receipt = await response.wait();
      if (!receipt) throw new ZgError(`${action}: the transaction was dropped`, "ZG_ERROR");
      return receipt;
    } catch (error) {
      // A failed send may have consumed a locally reserved nonce: resynchronise with the chain.
      (this.sender as NonceManager | undefined)?.reset();
      throw toZgError(error, action);
    }
  }

  /**
   * Sends a transaction that must be mined soon (a challenge answer before its deadline): when it is not mined
   * within `waitMs`, the same nonce is sent again with fees raised by a quarter, up to `bumps` times.
   */
  async sendUrgent(
    action: string,
    populate: () => Promise<ContractTransaction>,
    options: { waitMs?: number; bumps?: number } = {},
  ): Promise<TransactionReceipt> {
    const wallet = this.requireWallet();
    const waitMs = options.waitMs ?? 15_000;
    const bumps = options.bumps ?? 4;
    const submitted = this.enqueue(true, async () => {
      try {
        return await this.answerWithBumps(action, populate, wallet, waitMs, bumps);
      } finally {
        // The NonceManager did not see this nonce: let it ask the chain again before the next plain send.
        (this.sender as NonceManager | undefined)?.reset();
      }
    });
    try {
      const receipt = await submitted;
      if (receipt.status !== 1) throw new ZgError(`${action}: the transaction reverted`, "REVERTED");
      return receipt;
    } catch (error) {
      throw toZgError(error, action);
    }
  }

  /** Sends `populate`'s transaction at the pending nonce, re-sending it with higher fees until one is mined. */
  private async answerWithBumps(
    action: string,
    populate: () => Promise<ContractTransaction>,
    wallet: Wallet,
    waitMs: number,
    bumps: number,
  ): Promise<TransactionReceipt> {
    const request = await populate();
    const nonce = await this.provider.getTransactionCount(wallet.address, "pending");
    const fees = await this.provider.getFeeData();
    let maxFeePerGas = fees.maxFeePerGas ?? fees.gasPrice ?? 1_000_000_000n;
    let maxPriorityFeePerGas = fees.maxPriorityFeePerGas ?? 1_000_000_000n;
    const gasLimit = await this.provider.estimateGas({ ...request, from: wallet.address });
    const sent: TransactionResponse[] = [];
    for (let attempt = 0; attempt <= bumps; attempt++) {
      try {
        sent.push(
          await wallet.sendTransaction({ ...request, nonce, gasLimit, maxFeePerGas, maxPriorityFeePerGas }),
        );
      } catch (error) {
        // The nonce may have been taken by an earlier send mined in the meantime: that one is the answer.
        const mined = attempt > 0 ? await firstMined(this.provider, sent, waitMs) : null;
        if (mined) return mined;
        throw error;
      }
      const receipt = await firstMined(this.provider, sent, waitMs);
      if (receipt) return receipt;
      maxFeePerGas = (maxFeePerGas * 5n) / 4n;
      maxPriorityFeePerGas = (maxPriorityFeePerGas * 5n) / 4n;
    }
    const receipt = await firstMined(this.provider, sent, waitMs * 4);
    if (!receipt) throw new ZgError(`${action}: not mined after ${bumps} fee increases`, "NETWORK");
    return receipt;
  }

  /** Closes the provider's polling. */
  destroy(): void {
    this.provider.destroy();
  }
}

/** The receipt of whichever of these same-nonce transactions is mined within `waitMs`, if any. */
async function firstMined(
  provider: JsonRpcProvider,
  sent: TransactionResponse[],
  waitMs: number,
): Promise<TransactionReceipt | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    for (const tx of sent) {
      const receipt = await provider.getTransactionReceipt(tx.hash);
      if (receipt) return receipt;
    }
    if (Date.now() >= deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, Math.min(250, waitMs)));
  }
}

/** Asks an endpoint for its chain id, with a timeout (ethers would retry forever on a dead endpoint). */
export async function probeChainId(rpcUrl: string): Promise<number> {
  let response: Response;
  try {
    response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw new ZgError(`cannot reach the RPC endpoint ${rpcUrl} (${cause})`, "NETWORK", { cause: error });
  }
  const body = (await response.json().catch(() => undefined)) as { result?: string } | undefined;
  if (!response.ok || typeof body?.result !== "string") {
    throw new ZgError(
      `the endpoint ${rpcUrl} is not an Ethereum JSON-RPC server (HTTP ${response.status})`,
      "NETWORK",
    );
  }
  return Number(BigInt(body.result));
}
