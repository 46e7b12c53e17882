import { getAddress, isAddress, keccak256, toUtf8Bytes } from "ethers";
import { ZgError } from "../core/errors";
import { domainSeparator, recoverSigner, typedDigest, typeHash, type Eip712Domain } from "../core/signatures";
import type { CanonicalRequest } from "../engine/chat";

// The wire protocol between users and an inference oracle: the EIP-712 voucher a user signs (the contract
// settles it), the EIP-712 request a user signs for each request (the oracle checks it), the EIP-712 read
// authorization that opens a user's account, the EIP-712 response statement the provider signs, and the receipt
// that carries both sides.

export const SERVING_DOMAIN_NAME = "zerog InferenceServing";
export const SERVING_DOMAIN_VERSION = "1";

/**
 * The HTTP headers a request carries: who the user is, the voucher covering what they owe so far, and the user's
 * signature of this request (its hash and its number among the user's requests to the provider).
 */
export const USER_HEADER = "x-zg-user";
export const VOUCHER_HEADER = "x-zg-voucher";
export const REQUEST_HEADER = "x-zg-request";
/** The header that opens a user's account and receipts to the user: `<expires>:<signature>`. */
export const READ_HEADER = "x-zg-read";
/** The furthest ahead a read authorization may expire (seconds). */
export const MAX_READ_SECONDS = 600;

const VOUCHER_TYPE = "Voucher(address user,address provider,uint256 amount,uint256 nonce)";
const RESPONSE_TYPE =
  "Response(address user,address provider,bytes32 modelHash,bytes32 requestHash,bytes32 responseHash," +
  "uint256 inputTokens,uint256 outputTokens,uint256 fee,uint256 seq,uint256 cumulative)";
const REQUEST_TYPE = "Request(address user,address provider,bytes32 requestHash,uint256 seq)";
const READ_TYPE = "Read(address user,address provider,uint256 expires)";
const VOUCHER_TYPEHASH = typeHash(VOUCHER_TYPE);
const RESPONSE_TYPEHASH = typeHash(RESPONSE_TYPE);
const REQUEST_TYPEHASH = typeHash(REQUEST_TYPE);
const READ_TYPEHASH = typeHash(READ_TYPE);

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

  requestDigest(request: RequestStatement): string {
    return typedDigest(
      this.separator,
      REQUEST_TYPEHASH,
      ["address", "address", "bytes32", "uint256"],
      [request.user, request.provider, request.requestHash, request.seq],
    );
  }

  readDigest(read: { user: string; provider: string; expires: bigint }): string {
    return typedDigest(
      this.separator,
      READ_TYPEHASH,
      ["address", "address", "uint256"],
      [read.user, read.provider, read.expires],
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

  /** Whether `signature` is `request.user`'s signature of that request in this domain. */
  isRequestSignedBy(request: RequestStatement, signature: string): boolean {
    const signer = recoverSigner(this.requestDigest(request), signature);
    return signer !== undefined && signer === getAddress(request.user);
  }
}

/**
 * What a user signs for each request: the hash of the canonical request and its number among the user's requests
 * to that provider (the account's count of responses + 1), so a signature answers one request, once.
 */
export interface RequestStatement {
  user: string;
  provider: string;
  requestHash: string;
  seq: bigint;
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
  /** The user's signature of the request (`Request(user, provider, requestHash, seq)`): the user asked for it. */
  requestSignature: string;
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
  const request = {
    user: receipt.user,
    provider: receipt.provider,
    requestHash: receipt.requestHash,
    seq: BigInt(receipt.seq),
  };
  if (!domain.isRequestSignedBy(request, receipt.requestSignature ?? "0x")) {
    problems.push(`the request is not signed by ${receipt.user}`);
  }
  return problems;
}

/** `amount:nonce:signature`, the value of the voucher header. */
export function encodeVoucherHeader(voucher: SignedVoucher): string {
  return `${voucher.amount}:${voucher.nonce}:${voucher.signature}`;
}

/** `seq:signature`, the value of the request header. */
export function encodeRequestHeader(seq: bigint, signature: string): string {
  return `${seq}:${signature}`;
}

/** Parses the request header; throws a one-line BAD_INPUT error when it is missing or malformed. */
export function parseRequestHeader(value: string | undefined): { seq: bigint; signature: string } {
  const match = /^(\d{1,20}):(0x[0-9a-fA-F]{130})$/.exec(value ?? "");
  if (!match) {
    throw new ZgError(
      `header ${REQUEST_HEADER} must be <seq>:<the user's 65-byte signature of this request>`,
      "BAD_INPUT",
    );
  }
  return { seq: BigInt(match[1]), signature: match[2].toLowerCase() };
}

/** `expires:signature`, the value of the read header. */
export function encodeReadHeader(expires: bigint, signature: string): string {
  return `${expires}:${signature}`;
}

/** Parses the read header; throws a one-line BAD_INPUT error when it is missing or malformed. */
export function parseReadHeader(value: string | undefined): { expires: bigint; signature: string } {
  const match = /^(\d{1,12}):(0x[0-9a-fA-F]{130})$/.exec(value ?? "");
  if (!match) {
    throw new ZgError(
      `header ${READ_HEADER} must be <expires>:<the user's 65-byte signature of Read(user, provider, expires)>`,
      "BAD_INPUT",
    );
  }
  return { expires: BigInt(match[1]), signature: match[2].toLowerCase() };
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
