import { getAddress, isAddress, keccak256, toUtf8Bytes } from "ethers";
import { ZgError } from "../core/errors";
import { domainSeparator, recoverSigner, typedDigest, typeHash, type Eip712Domain } from "../core/signatures";
import type { CanonicalRequest } from "../engine/chat";

// The wire protocol between users and an inference oracle: the EIP-712 voucher a user signs (the contract
// settles it), the EIP-712 response statement the provider signs, and the receipt that carries both sides.

export const SERVING_DOMAIN_NAME = "zerog InferenceServing";
export const SERVING_DOMAIN_VERSION = "1";

/** The HTTP headers a request carries: who the user is, and the voucher covering what they owe so far. */
export const USER_HEADER = "x-zg-user";
export const VOUCHER_HEADER = "x-zg-voucher";

const VOUCHER_TYPE = "Voucher(address user,address provider,uint256 amount,uint256 nonce)";
const RESPONSE_TYPE =
  "Response(address user,address provider,bytes32 modelHash,bytes32 requestHash,bytes32 responseHash," +
  "uint256 inputTokens,uint256 outputTokens,uint256 fee,uint256 seq,uint256 cumulative)";
const VOUCHER_TYPEHASH = typeHash(VOUCHER_TYPE);
const RESPONSE_TYPEHASH = typeHash(RESPONSE_TYPE);

/** The signing domain of one InferenceServing deployment (vouchers and responses). */
export class ServingDomain {
  readonly separator: string;

  constructor(
    readonly chainId: number,
    readonly verifyingContract: string,
  ) {
    const domain: Eip712Domain = {
      name: SERVING_DOMAIN_NAME,
      version: SERVING_DOMAIN_VERSION,
      chainId,
      verifyingContract,
    };
    this.separator = domainSeparator(domain);
  }

  voucherDigest(voucher: Voucher): string {
    return typedDigest(
      this.separator,
      VOUCHER_TYPEHASH,
      ["address", "address", "uint256", "uint256"],
      [voucher.user, voucher.provider, voucher.amount, voucher.nonce],
    );
  }

  responseDigest(statement: ResponseStatement): string {
    return typedDigest(
      this.separator,
      RESPONSE_TYPEHASH,
      [
        "address",
        "address",
        "bytes32",
        "bytes32",
        "bytes32",
        "uint256",
        "uint256",
        "uint256",
        "uint256",
        "uint256",
      ],
      [
        statement.user,
        statement.provider,
        statement.modelHash,
        statement.requestHash,
        statement.responseHash,
        statement.inputTokens,
        statement.outputTokens,
        statement.fee,
        statement.seq,
        statement.cumulative,
      ],
    );
  }

  /** Whether `signed` is a voucher `user` signed for `provider` in this domain. */
  isVoucherSignedBy(signed: SignedVoucher, provider: string): boolean {
    const signer = recoverSigner(this.voucherDigest({ ...signed, provider }), signed.signature);
    return signer !== undefined && signer === getAddress(signed.user);
  }
}

/** What a user authorizes: `amount` is cumulative over every response of the provider, `nonce` increases. */
export interface Voucher {
  user: string;
  provider: string;
  amount: bigint;
  nonce: bigint;
}

/** A voucher as the user sends it (the provider is implied by the endpoint). */
export interface SignedVoucher {
  user: string;
  amount: bigint;
  nonce: bigint;
  signature: string;
}

/** What the provider signs for every response. */
export interface ResponseStatement {
  user: string;
  provider: string;
  modelHash: string;
  requestHash: string;
  responseHash: string;
  inputTokens: bigint;
  outputTokens: bigint;
  fee: bigint;
  /** The response's number among this user's responses from this provider (1, 2, …). */
  seq: bigint;
  /** Σ fee over responses 1..seq: the amount of the voucher that pays for everything up to this one. */
  cumulative: bigint;
}

/** A receipt: the request, the response and the provider's signed statement, enough to verify and re-execute. */
export interface Receipt {
  version: 1;
  chainId: number;
  serving: string;
  provider: string;
  signer: string;
  user: string;
  modelHash: string;
  deterministic: boolean;
  request: CanonicalRequest;
  response: { content: string; finishReason: "stop" | "length" };
  inputTokens: number;
  outputTokens: number;
  inputPrice: string;
  outputPrice: string;
  fee: string;
  seq: number;
  cumulative: string;
  requestHash: string;
  responseHash: string;
  signature: string;
  /** Unix milliseconds when the oracle signed it (not signed). */
  createdAt: number;
}

/** The canonical bytes of a request are its JSON with keys in the order of `CanonicalRequest`. */
export function requestHash(request: CanonicalRequest): string {
  const canonical: CanonicalRequest = {
    model: request.model,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    max_tokens: request.max_tokens,
    temperature: request.temperature,
    seed: request.seed,
  };
  return keccak256(toUtf8Bytes(JSON.stringify(canonical)));
}

export function responseHash(content: string): string {
  return keccak256(toUtf8Bytes(content));
}

/** fee = input tokens × input price + output tokens × output price. */
export function feeOf(
  inputTokens: number,
  outputTokens: number,
  inputPrice: bigint,
  outputPrice: bigint,
): bigint {
  return BigInt(inputTokens) * inputPrice + BigInt(outputTokens) * outputPrice;
}

/** The statement a receipt carries (what its signature covers). */
export function statementOf(receipt: Receipt): ResponseStatement {
  return {
    user: receipt.user,
    provider: receipt.provider,
    modelHash: receipt.modelHash,
    requestHash: receipt.requestHash,
    responseHash: receipt.responseHash,
    inputTokens: BigInt(receipt.inputTokens),
    outputTokens: BigInt(receipt.outputTokens),
    fee: BigInt(receipt.fee),
    seq: BigInt(receipt.seq),
    cumulative: BigInt(receipt.cumulative),
  };
}

/**
 * Checks what a receipt says about itself: the hashes match its request and response, the fee is the token
 * counts times its prices, and the signature is by `receipt.signer`. Returns the reasons it fails (empty: valid).
 */
export function receiptProblems(receipt: Receipt): string[] {
  const problems: string[] = [];
  if (requestHash(receipt.request) !== receipt.requestHash)
    problems.push("the request hash does not match the request");
  if (responseHash(receipt.response.content) !== receipt.responseHash) {
    problems.push("the response hash does not match the response");
  }
  const fee = feeOf(
    receipt.inputTokens,
    receipt.outputTokens,
    BigInt(receipt.inputPrice),
    BigInt(receipt.outputPrice),
  );
  if (fee !== BigInt(receipt.fee)) {
    problems.push(
      `the fee ${receipt.fee} is not ${receipt.inputTokens}×${receipt.inputPrice} + ${receipt.outputTokens}×${receipt.outputPrice} = ${fee}`,
    );
  }
  const domain = new ServingDomain(receipt.chainId, receipt.serving);
  const signer = recoverSigner(domain.responseDigest(statementOf(receipt)), receipt.signature);
  if (signer === undefined || signer !== getAddress(receipt.signer)) {
    problems.push(`the signature is not by ${receipt.signer}`);
  }
  return problems;
}

/** `amount:nonce:signature`, the value of the voucher header. */
export function encodeVoucherHeader(voucher: SignedVoucher): string {
  return `${voucher.amount}:${voucher.nonce}:${voucher.signature}`;
}

/** Parses the user and voucher headers; throws a one-line BAD_INPUT error on anything malformed. */
export function parseVoucherHeaders(user: string | undefined, voucher: string | undefined): SignedVoucher {
  if (!user || !isAddress(user))
    throw new ZgError(`header ${USER_HEADER} must be the user's address`, "BAD_INPUT");
  const match = /^(\d{1,78}):(\d{1,78}):(0x[0-9a-fA-F]{130})$/.exec(voucher ?? "");
  if (!match) {
    throw new ZgError(
      `header ${VOUCHER_HEADER} must be <amount>:<nonce>:<65-byte signature hex>`,
      "BAD_INPUT",
    );
  }
  return {
    user: getAddress(user),
    amount: BigInt(match[1]),
    nonce: BigInt(match[2]),
    signature: match[3].toLowerCase(),
  };
}
