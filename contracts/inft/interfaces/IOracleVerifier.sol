// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC7857DataVerifier} from "./IERC7857DataVerifier.sol";

/**
 * @title IOracleVerifier
 * @notice The ERC-7857 data verifier of zerog-stack: EIP-712 signatures by the receiver (access proofs) and by an
 * oracle active in NodeStaking's `ORACLE` role (ownership proofs), new data recorded by the Flow, deadlines and
 * single-use nonces. Only the `TEE` oracle type is supported; the oracle's key stands in for the TEE.
 * @dev Typed data, in the domain `{name: "zerog OracleVerifier", version: "1", chainId, verifyingContract: this}`:
 * - `AccessProof(bytes32 dataHash,bytes targetPubkey,uint256 nonce,uint256 deadline)`, where `dataHash` and
 *   `targetPubkey` are the ownership proof's `oldDataHash` and `targetPubkey`;
 * - `OwnershipProof(uint8 oracleType,bytes32 oldDataHash,bytes32 newDataHash,bytes sealedKey,bytes targetPubkey,
 *   uint256 nonce,uint256 deadline)`.
 *
 * Nonces are unordered, as in Uniswap's Permit2: nonce `n` of a signer is bit `n & 255` of word `n >> 8`, so the
 * sequential nonces a signer hands out share one storage slot per 256. They are kept per consumer (the contract
 * that calls a `verify*` function) and per signer, so a proof is accepted once by each consumer and nobody can
 * burn another consumer's nonces by calling the verifier first. A signer's access and ownership proofs share its
 * nonces. A proof is accepted until its `deadline` (inclusive) and no deadline may lie more than
 * `MAX_PROOF_VALIDITY` ahead, so no signed proof lives longer than that.
 */
interface IOracleVerifier is IERC7857DataVerifier {
    /// @notice Thrown when the constructor gets no registry.
    error OracleVerifierZeroAddress();
    /// @notice Thrown for an oracle type the verifier does not support (`ZKP`: no circuit exists yet).
    error OracleVerifierUnsupportedOracleType(uint256 index, OracleType oracleType);
    /// @notice Thrown when a signature cannot be recovered.
    /// @param index The proof's position.
    /// @param reason OpenZeppelin's `ECDSA.RecoverError`: 1 invalid, 2 wrong length, 3 `s` in the upper half.
    error OracleVerifierInvalidSignature(uint256 index, uint8 reason);
    /// @notice Thrown when a proof's deadline has passed.
    error OracleVerifierProofExpired(uint256 index, uint256 deadline);
    /// @notice Thrown when a proof's deadline lies more than `MAX_PROOF_VALIDITY` ahead.
    /// @param latest The latest deadline accepted now.
    error OracleVerifierDeadlineTooFar(uint256 index, uint256 deadline, uint256 latest);
    /// @notice Thrown when a signer's nonce was used (or invalidated) before, for this consumer.
    error OracleVerifierNonceUsed(address signer, uint256 nonce);
    /// @notice Thrown when an ownership proof's signer is not active in NodeStaking's `ORACLE` role.
    error OracleVerifierInactiveOracle(address oracle);
    /// @notice Thrown when a new data hash is not a submission recorded by the Flow.
    error OracleVerifierDataNotSubmitted(bytes32 dataHash);
    /// @notice Thrown when a new data hash is zero.
    error OracleVerifierZeroDataHash(uint256 index);
    /// @notice Thrown when a new data hash equals the old one: re-encryption must produce new data.
    error OracleVerifierDataNotRotated(uint256 index, bytes32 dataHash);
    /// @notice Thrown when a target public key is not 64 bytes long.
    error OracleVerifierInvalidPubkey(uint256 index, uint256 length);

    /// @notice Emitted when a signer invalidates some of its nonces for a consumer.
    event NoncesInvalidated(address indexed consumer, address indexed signer, uint256 word, uint256 mask);

    /**
     * @notice Marks nonces of the caller as used for `consumer`, so that the proofs the caller signed with them
     * are refused (e.g. an oracle withdrawing proofs it handed out).
     * @param consumer The contract the proofs were meant for.
     * @param word The nonce word (`nonce >> 8`).
     * @param mask The bits (`1 << (nonce & 255)`) to mark.
     */
    function invalidateNonces(address consumer, uint256 word, uint256 mask) external;

    /// @notice The module registry where NodeStaking and the Flow are looked up.
    function registry() external view returns (address);

    /// @notice Word `word` of the used nonces of `signer` for `consumer` (bit `n & 255` is nonce `n`).
    function nonceBitmap(address consumer, address signer, uint256 word) external view returns (uint256);

    /// @notice Whether `signer`'s nonce was used or invalidated for `consumer`.
    function isNonceUsed(address consumer, address signer, uint256 nonce) external view returns (bool);

    /// @notice The EIP-712 digest a receiver (or its delegate) signs to accept `dataHash` under `targetPubkey`.
    function accessProofDigest(
        bytes32 dataHash,
        bytes calldata targetPubkey,
        uint256 nonce,
        uint256 deadline
    ) external view returns (bytes32);

    /// @notice The EIP-712 digest an oracle signs for an ownership proof (its `signature` is ignored).
    function ownershipProofDigest(OwnershipProof calldata proof) external view returns (bytes32);

    /// @notice The longest a proof's deadline may lie ahead of the block's timestamp, in seconds.
    // solhint-disable-next-line func-name-mixedcase
    function MAX_PROOF_VALIDITY() external view returns (uint256);
}
