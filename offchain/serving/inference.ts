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
  encodeVoucherHeader,
  receiptProblems,
  requestHash,
  USER_HEADER,
  VOUCHER_HEADER,
  type Receipt,
  type SignedVoucher,
} from "./protocol";
import { reexecute } from "./receipts";

/** What a user's client remembers per provider: the latest voucher it signed and the requests in flight. */
interface BookState {
  amount: string;
  nonce: string;
  signature: string | null;
  seq: number;
  /** Hashes of requests sent whose responses are not acknowledged yet. */
  inflight: string[];
}

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
 * One user's side of the inference protocol with one provider. A request carries the voucher covering every
 * earlier response; each response is verified (signature by the registered signer, hashes, fee = tokens ×
 * on-chain prices, and for the deterministic built-in model a local re-execution) and only then acknowledged
 * with a voucher for its cumulative fee. A response that fails verification is never acknowledged, so the
 * provider cannot be paid for it.
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
      : { amount: "0", nonce: "0", signature: null, seq: 0, inflight: [] };
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
    this.save({ ...this.book, inflight: [...this.book.inflight, hash] });

    const body = await this.call(target.route, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        [USER_HEADER]: this.user,
        [VOUCHER_HEADER]: encodeVoucherHeader(voucher),
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
      this.save({ ...this.book, inflight: this.book.inflight.filter((h) => h !== hash) });
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
   * Catches up with the provider after an interruption: adopts a newer voucher this user signed elsewhere, and
   * acknowledges responses that were stored by the provider but never reached this client, provided this client
   * sent those requests and the responses verify.
   */
  async reconcile(): Promise<void> {
    const view = (await this.call(`/v1/account/${this.user}`, { method: "GET" })) as AccountView;
    if (view.seq < this.book.seq) {
      // The provider has no record of responses this client acknowledged: a new chain (a restarted devnet) or a
      // provider that lost its state. Only what the provider can still show is owed: start again from its view.
      this.save({ amount: "0", nonce: "0", signature: null, seq: 0, inflight: [] });
    }
    if (view.voucher && BigInt(view.voucher.nonce) > BigInt(this.book.nonce)) {
      const remote: SignedVoucher = {
        user: this.user,
        amount: BigInt(view.voucher.amount),
        nonce: BigInt(view.voucher.nonce),
        signature: view.voucher.signature,
      };
      if (!this.client.domain.isVoucherSignedBy(remote, this.service.provider)) {
        throw new ZgError(`${this.service.url} holds a voucher this key did not sign`, "ZG_ERROR");
      }
      const covered = view.pending.length > 0 ? view.pending[0].seq - 1 : view.seq;
      this.save({
        ...this.book,
        amount: view.voucher.amount,
        nonce: view.voucher.nonce,
        signature: view.voucher.signature,
        seq: covered,
      });
    }
    if (view.pending.length === 0) return;
    let cumulative = BigInt(this.book.amount);
    let seq = this.book.seq;
    for (const receipt of view.pending) {
      const problems = await this.problemsOf(receipt, cumulative, seq);
      if (!this.book.inflight.includes(receipt.requestHash))
        problems.push("this client did not send that request");
      if (problems.length > 0) {
        throw new ZgError(
          `${this.service.url} reports response ${receipt.seq} that is not acknowledged: ${problems.join("; ")}`,
          "ZG_ERROR",
        );
      }
      cumulative = BigInt(receipt.cumulative);
      seq = receipt.seq;
      this.writeReceipt(receipt);
    }
    await this.acknowledge(view.pending);
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
    const acknowledged = new Set(receipts.map((r) => r.requestHash));
    this.save({
      amount: voucher.amount.toString(),
      nonce: voucher.nonce.toString(),
      signature: voucher.signature,
      seq: last.seq,
      inflight: this.book.inflight.filter((h) => !acknowledged.has(h)),
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

  /** Signs the next voucher (nonce + 1) for a cumulative amount; remembered once the provider accepts it. */
  private signVoucher(amount: bigint): SignedVoucher {
    const nonce = BigInt(this.book.nonce) + 1n;
    const digest = this.client.domain.voucherDigest({
      user: this.user,
      provider: this.service.provider,
      amount,
      nonce,
    });
    const signature = this.client.chain.signDigest(digest);
    if (this.book.signature === null)
      this.save({ ...this.book, amount: amount.toString(), nonce: nonce.toString(), signature });
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
