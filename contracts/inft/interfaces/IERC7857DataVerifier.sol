// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title IERC7857DataVerifier
 * @notice What an ERC-7857 token asks before it moves or changes encrypted data: that an oracle re-encrypted (or
 * holds) the data and sealed its key to the receiver's public key, and, for a transfer or a clone, that the
 * receiver accepts that data under that key. Shaped after 0G's second-generation reference
 * (`TransferValidityProof{AccessProof, OwnershipProof}`, `OracleType {TEE, ZKP}`), with typed fields instead of
 * the ERC draft's opaque `bytes` proofs.
 *
 * A verifier reverts on any invalid proof instead of returning an `isValid` flag, and consumes each proof's nonce,
 * so a proof it accepted once is refused afterwards. It knows nothing of tokens: the caller checks the outputs
 * against its own state (current data hashes, the receiver, the receiver's delegate).
 */
interface IERC7857DataVerifier {
    /// @notice Who vouches for a re-encryption: a trusted execution environment (an oracle key) or a zero-knowledge
    /// proof.
    enum OracleType {
        TEE,
        ZKP
    }

    /**
     * @notice The receiver's consent: a signature by the receiver (or the receiver's delegate) over the data it
     * accepts, the key it will decrypt with, a nonce and a deadline, which are those of the ownership proof it
     * travels with. Its typed data is `AccessProof(bytes32 dataHash,bytes targetPubkey,uint256 nonce,
     * uint256 deadline)` with the ownership proof's `oldDataHash` (the data as the token holds it now), target key,
     * `nonce` and `deadline`, so each of them travels once in calldata and the pair is accepted once.
     * @param r The signature in the compact form of ERC-2098: `r`,
     * @param vs and `s` with the recovery bit (`v - 27`) as its top bit.
     */
    struct AccessProof {
        bytes32 r;
        bytes32 vs;
    }

    /**
     * @notice An oracle's attestation about one data entry: it holds the data key of `oldDataHash` (zero for data
     * that is new to the token), re-encrypted the data into the ciphertext `newDataHash` under a fresh key, and
     * sealed that key to the target public key as `sealedKey`.
     * @dev The typed data signs the 64-byte public key itself (`bytes targetPubkey`); EIP-712 encodes a `bytes`
     * field as its keccak256, which is all the contract needs (its low 20 bytes are the key's address), so the
     * proof carries that hash.
     * @param oracleType How the attestation is vouched for.
     * @param oldDataHash The entry's data as the token holds it now; zero for a new entry.
     * @param newDataHash The entry's data afterwards (a storage root).
     * @param sealedKey The new data key, encrypted to the target key.
     * @param targetPubkeyHash keccak256 of the 64-byte uncompressed secp256k1 public key (no 0x04 prefix) of whoever
     * may decrypt; its low 20 bytes are that account's address, the receiver.
     * @param nonce Single-use: a nonce of the receiver.
     * @param deadline Last second (unix time) at which the proof (and the access proof with it) is accepted.
     * @param r The oracle's signature over the typed data, in the compact form of ERC-2098: `r`,
     * @param vs and `s` with the recovery bit (`v - 27`) as its top bit.
     */
    struct OwnershipProof {
        OracleType oracleType;
        bytes32 oldDataHash;
        bytes32 newDataHash;
        bytes sealedKey;
        bytes32 targetPubkeyHash;
        uint256 nonce;
        uint256 deadline;
        bytes32 r;
        bytes32 vs;
    }

    /// @notice What moves one data entry to a receiver: the receiver's consent and the oracle's attestation.
    struct TransferValidityProof {
        AccessProof accessProof;
        OwnershipProof ownershipProof;
    }

    /// @notice What a verified ownership proof establishes.
    /// @param oldDataHash The data the oracle re-encrypted from (zero for new data).
    /// @param newDataHash The data it produced.
    /// @param receiver The address of the proof's target key.
    /// @param oracle The oracle that signed.
    struct OwnershipProofOutput {
        bytes32 oldDataHash;
        bytes32 newDataHash;
        address receiver;
        address oracle;
    }

    /// @notice What a verified transfer proof establishes.
    /// @param oldDataHash The data the receiver accepted, as the token holds it now.
    /// @param newDataHash The data the receiver gets.
    /// @param receiver The address of the proofs' target key.
    /// @param accessSigner Who signed the access proof (the caller checks it is the receiver or its delegate).
    /// @param oracle The oracle that signed the ownership proof.
    struct TransferValidityProofOutput {
        bytes32 oldDataHash;
        bytes32 newDataHash;
        address receiver;
        address accessSigner;
        address oracle;
    }

    /**
     * @notice Verifies oracle attestations for data that a token gains or replaces (mint, update), consuming
     * their nonces; reverts on the first invalid proof.
     * @param proofs One proof per data entry.
     * @return outputs One output per proof, in order.
     */
    function verifyOwnership(
        OwnershipProof[] calldata proofs
    ) external returns (OwnershipProofOutput[] memory outputs);

    /**
     * @notice Verifies the proofs that move data entries to a receiver (transfer, clone), consuming their nonces;
     * reverts on the first invalid proof.
     * @param proofs One proof per data entry.
     * @return outputs One output per proof, in order.
     */
    function verifyTransferValidity(
        TransferValidityProof[] calldata proofs
    ) external returns (TransferValidityProofOutput[] memory outputs);
}
