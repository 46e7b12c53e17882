import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { getAddress } from "ethers";
import { ZgError } from "../core/errors";
import { requestJson } from "../core/http";
import { zgHome } from "../core/paths";
import type { ServiceInfo, ServingClient } from "./client";
import type { ChatMessage } from "../engine/chat";
import { canonicalRequest } from "../engine/engines";
import {
  encodeReadHeader,
  encodeRequestHeader,
  encodeVoucherHeader,
  READ_HEADER,
  receiptProblems,
  REQUEST_HEADER,
  requestHash,
  USER_HEADER,
  VOUCHER_HEADER,
  type Receipt,
  type SignedVoucher,
} from "./protocol";
import { reexecute } from "./receipts";

/**
 * What a user's client remembers per provider: the voucher covering responses 1..seq (the one the provider holds,
 * or the first one this client sends it), and the highest voucher nonce this key signed for the provider.
 */
interface BookState {
  amount: string;
  nonce: string;
  signature: string | null;
  seq: number;
  /** The highest nonce signed (the next voucher's is above it, and above the provider's and the chain's). */
  signed?: string;
}

/** How long a read authorization of the account is valid (seconds). */
const READ_SECONDS = 300;

export interface InferenceParams {
  max_tokens?: number;
  temperature?: number;
  seed?: number;
}

export interface InferenceResult {
  content: string;
  fee: bigint;
  receipt: Receipt;
  receiptFile: string;
  provider: string;
}

interface AccountView {
  seq: number;
  owed: string;
  voucher: { amount: string; nonce: string; signature: string } | null;
  pending: Receipt[];
}

/**
 * One user's side of the inference protocol with one provider. A request carries the user's signature of it (its
 * hash and its number) and the voucher covering every earlier response; each response is verified (signature by
 * the registered signer, hashes, fee = tokens × on-chain prices, and for the deterministic built-in model a local
 * re-execution) and only then acknowledged with a voucher for its cumulative fee. A response that fails
 * verification is never acknowledged, so the provider cannot be paid for it.
 */
export class InferenceSession {
  private constructor(
    private readonly client: ServingClient,
    private readonly service: ServiceInfo,
    private readonly user: string,
    private readonly bookFile: string,
    private book: BookState,
    private readonly receiptsDir: string,
  ) {}

  static async open(client: ServingClient, provider: string): Promise<InferenceSession> {
    const user = client.chain.address;
    if (!user)
      throw new ZgError("inference signs vouchers: pass --key <keystore> or --private-key", "BAD_CONFIG");
    const service = await client.service(getAddress(provider));
    const scope = path.join(
      zgHome(),
      "serving",
      `${client.chain.chainId}-${client.domain.verifyingContract.toLowerCase()}`,
      service.provider.toLowerCase(),
    );
    const bookFile = path.join(scope, `${user.toLowerCase()}.json`);
    const book: BookState = existsSync(bookFile)
      ? (JSON.parse(readFileSync(bookFile, "utf8")) as BookState)
      : { amount: "0", nonce: "0", signature: null, seq: 0 };
    return new InferenceSession(
      client,
      service,
      user,
      bookFile,
      book,
      path.join(scope, "receipts", user.toLowerCase()),
    );
  }

  /**
   * Sends one chat request and returns the verified, acknowledged answer. `target` sends it to another model of the
   * same provider (an agent's, through the sealed executor), whose weights the user cannot hold: its model hash is
   * taken as stated and it is not re-executed.
   */
  async chat(
    messages: ChatMessage[],
    params: InferenceParams = {},
    target: { route: string; model: string } = { route: "/v1/chat/completions", model: this.service.model },
  ): Promise<InferenceResult> {
    const own = target.model === this.service.model;
    const request = canonicalRequest({ model: target.model, messages, ...params }, target.model);
    await this.reconcile();
    const voucher = this.book.signature === null ? this.signVoucher(0n) : this.currentVoucher();
    const hash = requestHash(request);
    const seq = BigInt(this.book.seq + 1);
    const digest = this.client.domain.requestDigest({
      user: this.user,
      provider: this.service.provider,
      requestHash: hash,
      seq,
    });

    const body = await this.call(target.route, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        [USER_HEADER]: this.user,
        [VOUCHER_HEADER]: encodeVoucherHeader(voucher),
        [REQUEST_HEADER]: encodeRequestHeader(seq, this.client.chain.signDigest(digest)),
      },
      body: JSON.stringify(request),
    });
    const receipt = (body as { zg_receipt?: Receipt }).zg_receipt;
    if (!receipt) throw new ZgError(`${this.service.url} answered without a receipt`, "NETWORK");
    const content = (body as { choices?: { message?: { content?: string } }[] }).choices?.[0]?.message
      ?.content;
    const problems = await this.problemsOf(receipt, BigInt(this.book.amount), this.book.seq, own);
    if (content !== receipt.response.content) problems.push("the answer differs from the receipt's response");
    if (receipt.requestHash !== hash) problems.push("the receipt is for another request");
    if (problems.length > 0) {
      this.writeReceipt(receipt, ".rejected");
      throw new ZgError(
        `the response of ${this.service.provider} failed verification (${problems.join("; ")}): it is not acknowledged and will not be paid`,
        "ZG_ERROR",
      );
    }
    await this.acknowledge([receipt]);
    return {
      content: receipt.response.content,
      fee: BigInt(receipt.fee),
      receipt,
      receiptFile: this.writeReceipt(receipt),
      provider: this.service.provider,
    };
  }

  /**
   * Catches up with the provider before a request: adopts a newer voucher this key signed elsewhere, and
   * acknowledges responses the provider stored that never reached this client, each verified and its request
   * signed by this key (sent from here before an interruption, or from another program with the same key). A
   * provider whose record contradicts this client's is not followed: `resync` takes its record on request.
   */
  async reconcile(): Promise<void> {
    const view = await this.readAccount();
    if (view.seq < this.book.seq) {
      // The provider has no record of responses this client acknowledged: a new chain (a restarted devnet) or a
      // provider that lost its state. Only what the provider can still show is owed: start again from its view.
      this.save({ amount: "0", nonce: "0", signature: null, seq: 0, signed: this.highestNonce().toString() });
    }
    if (view.voucher && BigInt(view.voucher.nonce) > BigInt(this.book.nonce)) {
      this.adopt(view);
    }
    const covered = coveredBy(view);
    const voucher = view.voucher;
    const sameVoucher =
      !voucher ||
      this.book.signature === null ||
      voucher.nonce !== this.book.nonce ||
      (voucher.amount === this.book.amount && voucher.signature === this.book.signature);
    if (covered !== this.book.seq || !sameVoucher) {
      throw new ZgError(
        `${this.service.url} records your account with ${this.service.provider} as ${covered} responses acknowledged by voucher nonce ${voucher?.nonce ?? 0}, which does not match this client's (${this.book.seq} responses, nonce ${this.book.nonce}): if this key was used from another machine, or this client's state was lost or restored, run 'zg ledger resync ${this.service.provider}' (InferenceSession.resync()) to take the provider's record, every signature in it checked`,
        "ZG_ERROR",
      );
    }
    await this.acceptPending(view.pending);
  }

  /**
   * Takes the provider's record of this account instead of this client's: its voucher (signed by this key) and the
   * responses it stored after it, each verified, its request signed by this key, and acknowledged. The recovery
   * for lost, restored or diverged client state; the next voucher's nonce is above every one signed so far, here,
   * at the provider or settled on-chain.
   */
  async resync(): Promise<{ seq: number; acknowledged: number }> {
    const view = await this.readAccount();
    const onChain = await this.client.voucherState(this.user, this.service.provider);
    let highest = this.highestNonce();
    if (onChain.nonce > highest) highest = onChain.nonce;
    this.save({ amount: "0", nonce: "0", signature: null, seq: 0, signed: highest.toString() });
    if (view.voucher) this.adopt(view);
    this.save({ ...this.book, seq: coveredBy(view) });
    await this.acceptPending(view.pending);
    return { seq: view.seq, acknowledged: view.pending.length };
  }

  /** Takes the provider's voucher as the one covering its record (it must be signed by this key). */
  private adopt(view: AccountView): void {
    const voucher = view.voucher as NonNullable<AccountView["voucher"]>;
    const remote: SignedVoucher = {
      user: this.user,
      amount: BigInt(voucher.amount),
      nonce: BigInt(voucher.nonce),
      signature: voucher.signature,
    };
    if (!this.client.domain.isVoucherSignedBy(remote, this.service.provider)) {
      throw new ZgError(`${this.service.url} holds a voucher this key did not sign`, "ZG_ERROR");
    }
    const highest = this.highestNonce();
    this.save({
      amount: voucher.amount,
      nonce: voucher.nonce,
      signature: voucher.signature,
      seq: coveredBy(view),
      signed: (remote.nonce > highest ? remote.nonce : highest).toString(),
    });
  }

  /** Verifies and acknowledges the responses the provider stored after this client's voucher. */
  private async acceptPending(pending: Receipt[]): Promise<void> {
    if (pending.length === 0) return;
    let cumulative = BigInt(this.book.amount);
    let seq = this.book.seq;
    for (const receipt of pending) {
      const problems = await this.problemsOf(receipt, cumulative, seq);
      if (problems.length > 0) {
        this.writeReceipt(receipt, ".rejected");
        throw new ZgError(
          `${this.service.url} reports response ${receipt.seq} that fails verification (${problems.join("; ")}): it is not acknowledged and will not be paid, and the provider answers you no more while it asks for it; take your coin back with 'zg ledger refund ${this.service.provider} <amount>'`,
          "ZG_ERROR",
        );
      }
      cumulative = BigInt(receipt.cumulative);
      seq = receipt.seq;
      this.writeReceipt(receipt);
    }
    await this.acknowledge(pending);
  }

  /** The account as the provider records it, read with this key's signature (it shows prompts and answers). */
  private readAccount(): Promise<AccountView> {
    const expires = BigInt(Math.floor(Date.now() / 1000) + READ_SECONDS);
    const digest = this.client.domain.readDigest({
      user: this.user,
      provider: this.service.provider,
      expires,
    });
    return this.call(`/v1/account/${this.user}`, {
      method: "GET",
      headers: { [READ_HEADER]: encodeReadHeader(expires, this.client.chain.signDigest(digest)) },
    }) as Promise<AccountView>;
  }

  private highestNonce(): bigint {
    const nonce = BigInt(this.book.nonce);
    const signed = BigInt(this.book.signed ?? "0");
    return nonce > signed ? nonce : signed;
  }

  /** Everything wrong with a receipt that should follow `previousSeq` at `previousCumulative`. */
  private async problemsOf(
    receipt: Receipt,
    previousCumulative: bigint,
    previousSeq: number,
    ownModel = receipt.request.model === this.service.model,
  ): Promise<string[]> {
    const problems = receiptProblems(receipt);
    const service = this.service;
    const expect = (ok: boolean, problem: string) => {
      if (!ok) problems.push(problem);
    };
    expect(
      receipt.signer === service.signer,
      `signed by ${receipt.signer}, not the registered signer ${service.signer}`,
    );
    expect(
      receipt.provider === service.provider && receipt.user === this.user,
      "addressed to another provider or user",
    );
    expect(
      receipt.chainId === this.client.chain.chainId &&
        receipt.serving === this.client.domain.verifyingContract,
      "for another deployment",
    );
    expect(
      !ownModel || receipt.modelHash === service.modelHash,
      `model ${receipt.modelHash} is not the registered ${service.modelHash}`,
    );
    expect(
      BigInt(receipt.inputPrice) === service.inputPrice &&
        BigInt(receipt.outputPrice) === service.outputPrice,
      `prices ${receipt.inputPrice}/${receipt.outputPrice} are not the registered ${service.inputPrice}/${service.outputPrice}`,
    );
    expect(receipt.seq === previousSeq + 1, `response number ${receipt.seq} does not follow ${previousSeq}`);
    expect(
      BigInt(receipt.cumulative) === previousCumulative + BigInt(receipt.fee),
      `cumulative ${receipt.cumulative} is not ${previousCumulative} + ${receipt.fee}`,
    );
    if (ownModel && service.deterministic && problems.length === 0) {
      const replay = await reexecute(receipt);
      if (replay.status === "mismatch") problems.push(replay.detail);
    }
    return problems;
  }

  private async acknowledge(receipts: Receipt[]): Promise<void> {
    const last = receipts[receipts.length - 1];
    const voucher = this.signVoucher(BigInt(last.cumulative));
    await this.call("/v1/vouchers", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        user: this.user,
        amount: voucher.amount.toString(),
        nonce: voucher.nonce.toString(),
        signature: voucher.signature,
      }),
    });
    this.save({
      amount: voucher.amount.toString(),
      nonce: voucher.nonce.toString(),
      signature: voucher.signature,
      seq: last.seq,
      signed: voucher.nonce.toString(),
    });
  }

  private currentVoucher(): SignedVoucher {
    return {
      user: this.user,
      amount: BigInt(this.book.amount),
      nonce: BigInt(this.book.nonce),
      signature: this.book.signature as string,
    };
  }

  /** Signs the next voucher (above every nonce signed) for a cumulative amount; remembered once accepted. */
  private signVoucher(amount: bigint): SignedVoucher {
    const nonce = this.highestNonce() + 1n;
    const digest = this.client.domain.voucherDigest({
      user: this.user,
      provider: this.service.provider,
      amount,
      nonce,
    });
    const signature = this.client.chain.signDigest(digest);
    if (this.book.signature === null) {
      this.save({
        ...this.book,
        amount: amount.toString(),
        nonce: nonce.toString(),
        signature,
        signed: nonce.toString(),
      });
    }
    return { user: this.user, amount, nonce, signature };
  }

  private call(route: string, init: RequestInit): Promise<unknown> {
    return requestJson(`${this.service.url.replace(/\/+$/, "")}${route}`, init, {
      label: `provider ${this.service.provider}`,
      timeoutMs: 120_000,
    });
  }

  private save(state: BookState): void {
    this.book = state;
    mkdirSync(path.dirname(this.bookFile), { recursive: true });
    const temporary = `${this.bookFile}.tmp`;
    writeFileSync(temporary, JSON.stringify(state));
    renameSync(temporary, this.bookFile);
  }

  private writeReceipt(receipt: Receipt, suffix = ""): string {
    mkdirSync(this.receiptsDir, { recursive: true });
    const file = path.join(this.receiptsDir, `${receipt.seq.toString().padStart(6, "0")}${suffix}.json`);
    writeFileSync(file, `${JSON.stringify(receipt, null, 2)}\n`);
    return file;
  }
}

/** The responses the provider's voucher covers: those before the first pending one. */
function coveredBy(view: AccountView): number {
  return view.pending.length > 0 ? view.pending[0].seq - 1 : view.seq;
}
