import { getAddress, ZeroAddress, type TransactionReceipt } from "ethers";
import {
  IInferenceServing__factory,
  IServingLedger__factory,
  type IInferenceServing,
  type IServingLedger,
} from "../../typechain-types";
import type { ZgChain } from "../core/chain";
import { serving as manifest } from "./module";
import { ZgError } from "../core/errors";
import { regionBytes, regionString } from "../staking/client";
import { requestJson } from "../core/http";
import { encodeReadHeader, READ_HEADER, ServingDomain, type Receipt, type SignedVoucher } from "./protocol";

/** What a provider registers (prices in wei per token). */
export interface ServiceTerms {
  model: string;
  modelHash: string;
  url: string;
  inputPrice: bigint;
  outputPrice: bigint;
  region: string;
  signer: string;
  deterministic: boolean;
}

/** A registered service. */
export interface ServiceInfo extends ServiceTerms {
  provider: string;
  updatedAt: number;
}

export interface RefundInfo {
  amount: bigint;
  unlockAt: bigint;
}

export interface SubAccountInfo {
  balance: bigint;
  pendingRefund: bigint;
  refunds: RefundInfo[];
}

/** Why the contract paid nothing for a voucher (`IInferenceServing.Rejection`). */
export const REJECTIONS = ["None", "BadSignature", "StaleNonce", "AmountBelowSettled", "OutOfRange"] as const;
export type Rejection = (typeof REJECTIONS)[number];

export interface SettlementResult {
  user: string;
  paid: bigint;
  rejection: Rejection;
}

/**
 * The serving module from the SDK: providers register services and settle vouchers, users move coin through
 * the ledger. The ledger is absent in the `no-token` profile: services are then free and nothing is settled.
 */
export class ServingClient {
  private constructor(
    readonly chain: ZgChain,
    readonly serving: IInferenceServing,
    private readonly ledgerContract: IServingLedger | undefined,
    readonly domain: ServingDomain,
  ) {}

  static async connect(chain: ZgChain): Promise<ServingClient> {
    const servingAddress = await chain.moduleAddress(manifest.contracts.serving.name);
    const serving = IInferenceServing__factory.connect(servingAddress, chain.runner);
    let ledger: IServingLedger | undefined;
    try {
      ledger = IServingLedger__factory.connect(
        await chain.moduleAddress(manifest.contracts.ledger.name),
        chain.runner,
      );
    } catch (error) {
      if (!(error instanceof ZgError && error.code === "MODULE_ABSENT")) throw error;
    }
    return new ServingClient(
      chain,
      serving,
      ledger,
      new ServingDomain(chain.chainId, getAddress(servingAddress)),
    );
  }

  /** Whether a ServingLedger is deployed (paid services and settlement). */
  get hasLedger(): boolean {
    return this.ledgerContract !== undefined;
  }

  private get ledger(): IServingLedger {
    if (!this.ledgerContract) {
      throw new ZgError(
        `module ${manifest.contracts.ledger.name} is not deployed on chain ${this.chain.chainId}: services here are free (see 'zg modules')`,
        "MODULE_ABSENT",
      );
    }
    return this.ledgerContract;
  }

  // ─── services ──────────────────────────────────────────────────────────────────────────────────

  register(terms: ServiceTerms): Promise<TransactionReceipt> {
    return this.chain.send("register service", () => this.serving.register(toParams(terms)));
  }

  update(terms: ServiceTerms): Promise<TransactionReceipt> {
    return this.chain.send("update service", () => this.serving.update(toParams(terms)));
  }

  remove(): Promise<TransactionReceipt> {
    return this.chain.send("remove service", () => this.serving.remove());
  }

  /** Registers the caller's service, or updates it when its terms differ; does nothing when they match. */
  async ensureService(terms: ServiceTerms): Promise<void> {
    const provider = this.chain.address as string;
    if (!(await this.serving.isRegistered(provider))) {
      await this.register(terms);
      return;
    }
    const current = await this.service(provider);
    const same = (Object.keys(terms) as (keyof ServiceTerms)[]).every(
      (key) => String(current[key]).toLowerCase() === String(terms[key]).toLowerCase(),
    );
    if (!same) await this.update(terms);
  }

  async service(provider: string): Promise<ServiceInfo> {
    if (!(await this.serving.isRegistered(provider))) {
      throw new ZgError(`provider ${provider} has no service registered (see 'zg serve list')`, "NOT_FOUND");
    }
    return toServiceInfo(await this.serving.serviceOf(provider));
  }

  async services(): Promise<ServiceInfo[]> {
    return (await this.serving.services()).map(toServiceInfo);
  }

  /**
   * One page of the receipts `provider` made, oldest first after `after` (a cursor an earlier page returned), read
   * with this key's signature: the provider answers active ALIGNMENT operators only.
   */
  async auditReceipts(
    provider: string,
    options: { after?: string; limit?: number } = {},
  ): Promise<{ receipts: Receipt[]; next: string | null }> {
    const service = await this.service(provider);
    const auditor = this.chain.address;
    if (!auditor) throw new ZgError("auditing a provider needs a key", "BAD_INPUT");
    const expires = BigInt(Math.floor(Date.now() / 1000) + 60);
    const signature = this.chain.signDigest(
      this.domain.readDigest({ user: auditor, provider: service.provider, expires }),
    );
    const query = new URLSearchParams();
    if (options.after) query.set("after", options.after);
    if (options.limit) query.set("limit", String(options.limit));
    return (await requestJson(
      `${service.url.replace(/\/+$/, "")}/v1/audit/${auditor}/receipts?${query.toString()}`,
      { method: "GET", headers: { [READ_HEADER]: encodeReadHeader(expires, signature) } },
      { label: `provider ${service.provider} (${service.url})`, timeoutMs: 30_000 },
    )) as { receipts: Receipt[]; next: string | null };
  }

  // ─── ledger ────────────────────────────────────────────────────────────────────────────────────

  deposit(amount: bigint): Promise<TransactionReceipt> {
    return this.chain.send("deposit", () => this.ledger.deposit({ value: amount }));
  }

  withdraw(amount: bigint): Promise<TransactionReceipt> {
    return this.chain.send("withdraw", () => this.ledger.withdraw(amount));
  }

  fund(provider: string, amount: bigint): Promise<TransactionReceipt> {
    return this.chain.send("fund sub-account", () => this.ledger.fund(provider, amount));
  }

  requestRefund(provider: string, amount: bigint): Promise<TransactionReceipt> {
    return this.chain.send("request refund", () => this.ledger.requestRefund(provider, amount));
  }

  releaseRefunds(provider: string): Promise<TransactionReceipt> {
    return this.chain.send("release refunds", () => this.ledger.releaseRefunds(provider));
  }

  withdrawEarnings(): Promise<TransactionReceipt> {
    return this.chain.send("withdraw earnings", () => this.ledger.withdrawEarnings());
  }

  async available(user: string): Promise<bigint> {
    return this.ledger.balanceOf(user);
  }

  async earnings(provider: string): Promise<bigint> {
    return this.ledger.earningsOf(provider);
  }

  async lockTime(): Promise<bigint> {
    return this.ledger.lockTime();
  }

  async subAccount(user: string, provider: string): Promise<SubAccountInfo> {
    const sub = await this.ledger.subAccount(user, provider);
    return {
      balance: sub.balance,
      pendingRefund: sub.pendingRefund,
      refunds: sub.refunds.map((refund) => ({ amount: refund.amount, unlockAt: refund.unlockAt })),
    };
  }

  /** What a provider can count on: the sub-account balance minus the refunds on their way out. */
  async unreservedBalance(user: string, provider: string): Promise<bigint> {
    const sub = await this.subAccount(user, provider);
    return sub.balance - sub.pendingRefund;
  }

  // ─── settlement ────────────────────────────────────────────────────────────────────────────────

  async voucherState(user: string, provider: string): Promise<{ settled: bigint; nonce: bigint }> {
    const state = await this.serving.voucherStateOf(user, provider);
    return { settled: state.settled, nonce: state.nonce };
  }

  /** Settles vouchers owed to the caller in one transaction; each voucher's outcome comes from the events. */
  async settle(vouchers: SignedVoucher[]): Promise<SettlementResult[]> {
    const receipt = await this.chain.send(`settle ${vouchers.length} vouchers`, () =>
      this.serving.settle(vouchers.map((v) => ({ ...v }))),
    );
    const results: SettlementResult[] = [];
    for (const log of receipt.logs) {
      const parsed = this.serving.interface.parseLog(log);
      if (parsed?.name === "VoucherSettled") {
        results.push({ user: parsed.args[0] as string, paid: parsed.args[4] as bigint, rejection: "None" });
      } else if (parsed?.name === "VoucherRejected") {
        results.push({
          user: parsed.args[0] as string,
          paid: 0n,
          rejection: REJECTIONS[Number(parsed.args[3])] ?? "BadSignature",
        });
      }
    }
    return results;
  }
}

function toParams(terms: ServiceTerms): IInferenceServing.ServiceParamsStruct {
  return {
    model: terms.model,
    modelHash: terms.modelHash,
    url: terms.url,
    inputPrice: terms.inputPrice,
    outputPrice: terms.outputPrice,
    region: regionBytes(terms.region),
    signer: terms.signer === "" ? ZeroAddress : terms.signer,
    deterministic: terms.deterministic,
  };
}

function toServiceInfo(service: IInferenceServing.ServiceStructOutput): ServiceInfo {
  const params = service.params;
  return {
    provider: service.provider,
    updatedAt: Number(service.updatedAt),
    model: params.model,
    modelHash: params.modelHash,
    url: params.url,
    inputPrice: params.inputPrice,
    outputPrice: params.outputPrice,
    region: regionString(params.region),
    signer: params.signer,
    deterministic: params.deterministic,
  };
}
