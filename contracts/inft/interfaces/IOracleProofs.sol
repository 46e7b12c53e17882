// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
import {IERC7857DataVerifier} from "./IERC7857DataVerifier.sol";

/**
 * @title IOracleProofs
 * @notice What every contract that checks zerog-stack's ERC-7857 proofs (with the `OracleProofs` library) has in
 * common: the errors, the EIP-712 digests and the longest proof validity. `AgentNFT` checks the proofs of its own
 * tokens; `OracleVerifier` checks proofs for any other consumer.
 * @dev Typed data, in the domain of the contract that checks the proof (`eip712Domain()`):
 * - `OwnershipProof(uint8 oracleType,bytes32 oldDataHash,bytes32 newDataHash,bytes sealedKey,bytes targetPubkey,
 *   uint256 nonce,uint256 deadline)`, signed by the oracle;
 * - `AccessProof(bytes32 dataHash,bytes targetPubkey,uint256 nonce,uint256 deadline)`, signed by the receiver or its
 *   delegate, where every field is the ownership proof's it travels with (`dataHash` is its `oldDataHash`).
 * `targetPubkey` is the receiver's 64-byte uncompressed secp256k1 public key (no 0x04 prefix); as EIP-712 encodes a
 * `bytes` field by its keccak256, proofs carry that hash (`targetPubkeyHash`), whose low 20 bytes are the
 * receiver's address.
 *
 * Nonces belong to the receiver: nonce `n` is bit `n & 255` of the receiver's word `n >> 8` (unordered, as in
 * Uniswap's Permit2), so a receiver numbering its proofs sequentially writes one storage slot per 256. An ownership
 * proof consumes its nonce; the access proof that travels with it signs the same nonce, so the pair is accepted once
 * and a nonce the receiver invalidates kills both. A proof is accepted until its `deadline` (inclusive) and no
 * deadline may lie more than `MAX_PROOF_VALIDITY` ahead.
 */
interface IOracleProofs is IERC5267 {
    /// @notice Thrown for an oracle type that is not supported (`ZKP`: no circuit exists yet).
    error OracleProofUnsupportedOracleType(uint256 index, IERC7857DataVerifier.OracleType oracleType);
    /// @notice Thrown when a signature cannot be recovered.
    /// @param index The proof's position.
    /// @param reason OpenZeppelin's `ECDSA.RecoverError`: 1 no signer recovered, 3 `s` in the upper half.
    error OracleProofInvalidSignature(uint256 index, uint8 reason);
    /// @notice Thrown when a proof's deadline has passed.
    error OracleProofExpired(uint256 index, uint256 deadline);
    /// @notice Thrown when a proof's deadline lies more than `MAX_PROOF_VALIDITY` ahead.
    /// @param latest The latest deadline accepted now.
    error OracleProofDeadlineTooFar(uint256 index, uint256 deadline, uint256 latest);
    /// @notice Thrown when a receiver's nonce was used (or invalidated) before.
    error OracleProofNonceUsed(address receiver, uint256 nonce);
    /// @notice Thrown when an ownership proof's signer is not active in NodeStaking's `ORACLE` role.
    error OracleProofInactiveOracle(address oracle);
    /// @notice Thrown when a new data hash is not a submission recorded by the Flow.
    error OracleProofDataNotSubmitted(bytes32 dataHash);
    /// @notice Thrown when a new data hash is zero.
    error OracleProofZeroDataHash(uint256 index);
    /// @notice Thrown when a new data hash equals the old one: re-encryption must produce new data.
    error OracleProofDataNotRotated(uint256 index, bytes32 dataHash);

    /**
     * @notice The EIP-712 digest a receiver (or its delegate) signs to accept `dataHash` under the public key whose
     * keccak256 is `targetPubkeyHash`, with an ownership proof's `nonce` and `deadline`.
     */
    function accessProofDigest(
        bytes32 dataHash,
        bytes32 targetPubkeyHash,
        uint256 nonce,
        uint256 deadline
    ) external view returns (bytes32);

    /// @notice The EIP-712 digest an oracle signs for an ownership proof (its `signature` is ignored).
    function ownershipProofDigest(
        IERC7857DataVerifier.OwnershipProof calldata proof
    ) external view returns (bytes32);

    /// @notice The longest a proof's deadline may lie ahead of the block's timestamp, in seconds.
    // solhint-disable-next-line func-name-mixedcase
    function MAX_PROOF_VALIDITY() external view returns (uint256);
}
