// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IModuleRegistry} from "../../core/interfaces/IModuleRegistry.sol";
import {TypedDataHash} from "../../libraries/TypedDataHash.sol";
import {INodeStaking} from "../../staking/interfaces/INodeStaking.sol";
import {IFlow} from "../../storage/interfaces/IFlow.sol";
import {IERC7857DataVerifier} from "../interfaces/IERC7857DataVerifier.sol";
import {IOracleProofs} from "../interfaces/IOracleProofs.sol";

/**
 * @title OracleProofs
 * @notice The one implementation of zerog-stack's ERC-7857 proof checks (see `IOracleProofs`): EIP-712 signatures
 * by an oracle active in NodeStaking's `ORACLE` role (ownership proofs) and by the receiver (access proofs), new
 * data recorded by the Flow, deadlines and single-use nonces of the receiver. `AgentNFT` uses it for its own tokens
 * (its domain, its nonces) and `OracleVerifier` for any other consumer.
 * @dev Internal functions only: the checks run in the caller's code, against the caller's EIP-712 domain and nonce
 * storage. NodeStaking and the Flow are looked up in the registry once per run of proofs (`context`), and an oracle
 * signing several proofs in a row is checked once.
 */
library OracleProofs {
    /// @notice Nonces of each receiver: word `n >> 8` holds nonce `n` at bit `n & 255`.
    struct Nonces {
        mapping(address receiver => mapping(uint256 word => uint256 bits)) words;
    }

    /// @notice What one run of proofs is checked against: the domain, the modules (looked up once) and the last
    /// oracle found active.
    struct Context {
        bytes32 domainSeparator;
        address staking;
        address flow;
        address activeOracle;
    }

    /// @notice The longest a deadline may lie ahead of the block's timestamp (0G's maximum proof age).
    uint256 internal constant MAX_PROOF_VALIDITY = 7 days;

    bytes32 private constant _STAKING = "NodeStaking";
    bytes32 private constant _FLOW = "Flow";
    // The type strings are hashed at compile time; their length costs nothing at run time.
    // solhint-disable gas-small-strings
    bytes32 private constant _ACCESS_TYPEHASH = keccak256(
        "AccessProof(bytes32 dataHash,bytes targetPubkey,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _OWNERSHIP_TYPEHASH = keccak256(
        "OwnershipProof(uint8 oracleType,bytes32 oldDataHash,bytes32 newDataHash,bytes sealedKey,bytes targetPubkey,uint256 nonce,uint256 deadline)"
    );
    // solhint-enable gas-small-strings
    /// @dev Call data sizes of a selector with one and with two word arguments.
    uint256 private constant _ONE_ARGUMENT = 0x24;
    uint256 private constant _TWO_ARGUMENTS = 0x44;
    /// @dev Bits of a boolean answer.
    uint256 private constant _BOOL_BITS = 1;

    // ─── Runs of proofs ───────────────────────────────────────────────────────────────────────────

    /// @notice Looks up NodeStaking and the Flow for a run of proofs in the domain `domainSeparator`.
    function context(
        IModuleRegistry registry,
        bytes32 domainSeparator
    ) internal view returns (Context memory) {
        (address staking, address flow) = _modules(registry);
        return Context(domainSeparator, staking, flow, address(0));
    }

    /**
     * @notice Checks an oracle's attestation and consumes its nonce: a `TEE` proof within its deadline, new data
     * that is not zero, differs from the old and is recorded by the Flow, and a signature by an oracle active now.
     * @param index The proof's position, for errors.
     * @return receiver The address of the target key, whose nonce the proof used.
     * @return oracle The oracle that signed.
     */
    function verifyOwnership(
        Context memory ctx,
        Nonces storage nonces,
        uint256 index,
        IERC7857DataVerifier.OwnershipProof calldata proof
    ) internal returns (address receiver, address oracle) {
        IERC7857DataVerifier.OracleType oracleType = proof.oracleType;
        if (oracleType != IERC7857DataVerifier.OracleType.TEE) {
            revert IOracleProofs.OracleProofUnsupportedOracleType(index, oracleType);
        }
        checkDeadline(index, proof.deadline);
        bytes32 newDataHash = proof.newDataHash;
        if (newDataHash == bytes32(0)) revert IOracleProofs.OracleProofZeroDataHash(index);
        if (newDataHash == proof.oldDataHash)
            revert IOracleProofs.OracleProofDataNotRotated(index, newDataHash);
        oracle = recover(index, _ownershipDigest(ctx.domainSeparator, proof, oracleType), proof.r, proof.vs);
        receiver = receiverOf(proof.targetPubkeyHash);
        useNonce(nonces, receiver, proof.nonce);
        if (oracle != ctx.activeOracle) {
            uint256 active = _view(
                ctx.staking,
                INodeStaking.isActive.selector,
                uint256(uint160(oracle)),
                uint256(INodeStaking.Role.ORACLE),
                _TWO_ARGUMENTS,
                _BOOL_BITS
            );
            if (active == 0) revert IOracleProofs.OracleProofInactiveOracle(oracle);
            ctx.activeOracle = oracle;
        }
        uint256 submitted = _view(
            ctx.flow,
            IFlow.isSubmitted.selector,
            uint256(newDataHash),
            0,
            _ONE_ARGUMENT,
            _BOOL_BITS
        );
        if (submitted == 0) {
            revert IOracleProofs.OracleProofDataNotSubmitted(newDataHash);
        }
    }

    /**
     * @notice Checks the proofs that move one data entry to a receiver: the oracle's attestation (as
     * `verifyOwnership`, consuming the receiver's nonce) and the consent to the same data, key, nonce and deadline.
     * @return receiver The address of the target key.
     * @return accessSigner Who signed the consent (the caller checks it is the receiver or its delegate).
     * @return oracle The oracle that signed the attestation.
     */
    function verifyTransfer(
        Context memory ctx,
        Nonces storage nonces,
        uint256 index,
        IERC7857DataVerifier.TransferValidityProof calldata proof
    ) internal returns (address receiver, address accessSigner, address oracle) {
        IERC7857DataVerifier.OwnershipProof calldata ownership = proof.ownershipProof;
        (receiver, oracle) = verifyOwnership(ctx, nonces, index, ownership);
        bytes32 digest = accessDigest(
            ctx.domainSeparator,
            ownership.oldDataHash,
            ownership.targetPubkeyHash,
            ownership.nonce,
            ownership.deadline
        );
        accessSigner = recover(index, digest, proof.accessProof.r, proof.accessProof.vs);
    }

    // ─── Nonces ───────────────────────────────────────────────────────────────────────────────────

    /// @notice Sets `receiver`'s nonce; reverts if it was set.
    function useNonce(Nonces storage nonces, address receiver, uint256 nonce) internal {
        uint256 bit = 1 << (nonce & 255);
        uint256 bits = nonces.words[receiver][nonce >> 8] ^= bit;
        if (bits & bit == 0) revert IOracleProofs.OracleProofNonceUsed(receiver, nonce);
    }

    /// @notice Whether `receiver`'s nonce was used or invalidated.
    function isNonceUsed(
        Nonces storage nonces,
        address receiver,
        uint256 nonce
    ) internal view returns (bool) {
        return nonces.words[receiver][nonce >> 8] & (1 << (nonce & 255)) != 0;
    }

    // ─── Pieces ───────────────────────────────────────────────────────────────────────────────────

    /// @notice Reverts unless `block.timestamp <= deadline <= block.timestamp + MAX_PROOF_VALIDITY`.
    function checkDeadline(uint256 index, uint256 deadline) internal view {
        if (deadline < block.timestamp) revert IOracleProofs.OracleProofExpired(index, deadline);
        uint256 latest = block.timestamp + MAX_PROOF_VALIDITY;
        if (deadline > latest) revert IOracleProofs.OracleProofDeadlineTooFar(index, deadline, latest);
    }

    /// @notice The address of a public key from its keccak256: the hash's low 20 bytes.
    function receiverOf(bytes32 pubkeyHash) internal pure returns (address) {
        return address(uint160(uint256(pubkeyHash)));
    }

    /// @notice The signer of `digest` (an ERC-2098 signature); reverts on an invalid or malleable signature.
    function recover(uint256 index, bytes32 digest, bytes32 r, bytes32 vs) internal pure returns (address) {
        (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecover(digest, r, vs);
        if (error != ECDSA.RecoverError.NoError)
            revert IOracleProofs.OracleProofInvalidSignature(index, uint8(error));
        return signer;
    }

    /// @notice The EIP-712 digest of `AccessProof(dataHash, targetPubkey, nonce, deadline)`, for a target key whose
    /// keccak256 is `pubkeyHash`.
    function accessDigest(
        bytes32 domainSeparator,
        bytes32 dataHash,
        bytes32 pubkeyHash,
        uint256 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        return
            TypedDataHash.digest4(
                domainSeparator,
                _ACCESS_TYPEHASH,
                dataHash,
                pubkeyHash,
                bytes32(nonce),
                bytes32(deadline)
            );
    }

    /// @notice The EIP-712 digest of an ownership proof (its signature aside).
    function ownershipDigest(
        bytes32 domainSeparator,
        IERC7857DataVerifier.OwnershipProof calldata proof
    ) internal pure returns (bytes32) {
        return _ownershipDigest(domainSeparator, proof, proof.oracleType);
    }

    /// @dev `ownershipDigest` with the proof's oracle type already read (and checked) by the caller.
    function _ownershipDigest(
        bytes32 domainSeparator,
        IERC7857DataVerifier.OwnershipProof calldata proof,
        IERC7857DataVerifier.OracleType oracleType
    ) private pure returns (bytes32) {
        bytes32 typeHash = _OWNERSHIP_TYPEHASH;
        bytes calldata sealedKey = proof.sealedKey;
        bytes32 oldDataHash = proof.oldDataHash;
        bytes32 newDataHash = proof.newDataHash;
        bytes32 pubkeyHash = proof.targetPubkeyHash;
        uint256 nonce = proof.nonce;
        uint256 deadline = proof.deadline;
        bytes32 structHash;
        // Safe: as in `TypedDataHash.digest4`: the sealed key is hashed where it is copied at the free memory pointer, then
        // the eight words are hashed there; the pointer is not moved.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, sealedKey.offset, sealedKey.length)
            let sealedKeyHash := keccak256(ptr, sealedKey.length)
            mstore(ptr, typeHash)
            mstore(add(ptr, 0x20), oracleType)
            mstore(add(ptr, 0x40), oldDataHash)
            mstore(add(ptr, 0x60), newDataHash)
            mstore(add(ptr, 0x80), sealedKeyHash)
            mstore(add(ptr, 0xa0), pubkeyHash)
            mstore(add(ptr, 0xc0), nonce)
            mstore(add(ptr, 0xe0), deadline)
            structHash := keccak256(ptr, 0x100)
        }
        return MessageHashUtils.toTypedDataHash(domainSeparator, structHash);
    }

    // ─── Module calls ─────────────────────────────────────────────────────────────────────────────

    /// @dev `registry.getModules("NodeStaking", "Flow")` (which reverts for a name without module).
    function _modules(IModuleRegistry registry) private view returns (address staking, address flow) {
        bytes4 selector = IModuleRegistry.getModules.selector;
        bytes32 stakingName = _STAKING;
        bytes32 flowName = _FLOW;
        // Safe: as in `_view`, with a two-word answer (two addresses) in the scratch space at 0.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), stakingName)
            mstore(add(ptr, 0x24), flowName)
            if iszero(staticcall(gas(), registry, ptr, 0x44, 0x00, 0x40)) {
                returndatacopy(ptr, 0x00, returndatasize())
                revert(ptr, returndatasize())
            }
            staking := mload(0x00)
            flow := mload(0x20)
            if or(lt(returndatasize(), 0x40), shr(160, or(staking, flow))) {
                revert(0x00, 0x00)
            }
        }
    }

    /**
     * @dev Calls a view of `target` that takes one or two words (`size` is the call data's length) and answers one
     * word of at most `bits` bits (`isActive`, `isSubmitted`: a boolean). A Solidity call would ABI-encode into
     * fresh memory and decode with more steps; this costs a few hundred gas less per call.
     */
    function _view(
        address target,
        bytes4 selector,
        uint256 arg0,
        uint256 arg1,
        uint256 size,
        uint256 bits
    ) private view returns (uint256 result) {
        // Safe: the call data is laid out at the free memory pointer, which is not moved (scratch memory), and the
        // answer lands in the scratch space at 0. A revert of the callee is bubbled up with its data; an answer
        // shorter than a word (no code at `target`) or wider than `bits` reverts without data, as a Solidity call's
        // decoding would.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), arg0)
            mstore(add(ptr, 0x24), arg1)
            if iszero(staticcall(gas(), target, ptr, size, 0x00, 0x20)) {
                returndatacopy(ptr, 0x00, returndatasize())
                revert(ptr, returndatasize())
            }
            result := mload(0x00)
            if or(lt(returndatasize(), 0x20), shr(bits, result)) {
                revert(0x00, 0x00)
            }
        }
    }
}
