// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {INodeStaking} from "../staking/interfaces/INodeStaking.sol";
import {IFlow} from "../storage/interfaces/IFlow.sol";
import {IERC7857DataVerifier} from "./interfaces/IERC7857DataVerifier.sol";
import {IOracleVerifier} from "./interfaces/IOracleVerifier.sol";

/**
 * @title OracleVerifier
 * @notice Checks ERC-7857 access and ownership proofs (see `IOracleVerifier`): EIP-712 signatures, deadlines,
 * single-use nonces, an oracle active in NodeStaking's `ORACLE` role and new data recorded by the Flow. NodeStaking
 * and the Flow are looked up in the registry at call time, once per call, and an oracle signing several proofs in a
 * row is checked once.
 * @dev Not upgradeable: its only state is the nonces, and they are bound to this contract's EIP-712 domain
 * (`verifyingContract`), so a replacement registered under "OracleVerifier" starts with fresh nonces and every
 * proof signed for this one is void there. The registry and the domain separator are immutables.
 * Invariants:
 * - a (consumer, signer, nonce) is accepted at most once: its bit is set when accepted and never cleared;
 * - every accepted proof had `block.timestamp <= deadline <= block.timestamp + MAX_PROOF_VALIDITY`, an oracle type
 *   of `TEE`, a 64-byte target key, a non-zero `newDataHash` different from `oldDataHash` and recorded by the
 *   Flow, and an ownership signature by an account active in the `ORACLE` role at that moment.
 */
contract OracleVerifier is IOracleVerifier, EIP712 {
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
    uint256 private constant _PUBKEY_BYTES = 64;

    /// @inheritdoc IOracleVerifier
    uint256 public constant MAX_PROOF_VALIDITY = 7 days;

    IModuleRegistry private immutable _REGISTRY;

    mapping(address consumer => mapping(address signer => mapping(uint256 word => uint256 bits)))
        private _nonces;

    /// @dev What one `verify*` call checks ownership proofs against: the modules, looked up once, and the last
    /// oracle found active.
    struct Context {
        INodeStaking staking;
        IFlow flow;
        address activeOracle;
    }

    /// @param registry_ The module registry where "NodeStaking" and "Flow" are looked up.
    constructor(address registry_) EIP712("zerog OracleVerifier", "1") {
        if (registry_ == address(0)) revert OracleVerifierZeroAddress();
        _REGISTRY = IModuleRegistry(registry_);
    }

    // ─── Verification ─────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IERC7857DataVerifier
    function verifyOwnership(
        OwnershipProof[] calldata proofs
    ) external returns (OwnershipProofOutput[] memory outputs) {
        uint256 count = proofs.length;
        outputs = new OwnershipProofOutput[](count);
        if (count == 0) return outputs;
        Context memory context = _context();
        for (uint256 i = 0; i < count; ++i) {
            OwnershipProof calldata proof = proofs[i];
            (address receiver, bytes32 pubkeyHash) = _receiverOf(i, proof.targetPubkey);
            address oracle = _verifyOwnership(context, i, proof, pubkeyHash);
            outputs[i] = OwnershipProofOutput(proof.oldDataHash, proof.newDataHash, receiver, oracle);
        }
    }

    /// @inheritdoc IERC7857DataVerifier
    function verifyTransferValidity(
        TransferValidityProof[] calldata proofs
    ) external returns (TransferValidityProofOutput[] memory outputs) {
        uint256 count = proofs.length;
        outputs = new TransferValidityProofOutput[](count);
        if (count == 0) return outputs;
        Context memory context = _context();
        for (uint256 i = 0; i < count; ++i) {
            OwnershipProof calldata ownership = proofs[i].ownershipProof;
            (address receiver, bytes32 pubkeyHash) = _receiverOf(i, ownership.targetPubkey);
            address accessSigner = _verifyAccess(i, proofs[i].accessProof, ownership.oldDataHash, pubkeyHash);
            address oracle = _verifyOwnership(context, i, ownership, pubkeyHash);
            outputs[i] = TransferValidityProofOutput(
                ownership.oldDataHash,
                ownership.newDataHash,
                receiver,
                accessSigner,
                oracle
            );
        }
    }

    // ─── Nonces ───────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IOracleVerifier
    function invalidateNonces(address consumer, uint256 word, uint256 mask) external {
        _nonces[consumer][msg.sender][word] |= mask;
        emit NoncesInvalidated(consumer, msg.sender, word, mask);
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IOracleVerifier
    function registry() external view returns (address) {
        return address(_REGISTRY);
    }

    /// @inheritdoc IOracleVerifier
    function nonceBitmap(address consumer, address signer, uint256 word) external view returns (uint256) {
        return _nonces[consumer][signer][word];
    }

    /// @inheritdoc IOracleVerifier
    function isNonceUsed(address consumer, address signer, uint256 nonce) external view returns (bool) {
        return _nonces[consumer][signer][nonce >> 8] & (1 << (nonce & 255)) != 0;
    }

    /// @inheritdoc IOracleVerifier
    function accessProofDigest(
        bytes32 dataHash,
        bytes calldata targetPubkey,
        uint256 nonce,
        uint256 deadline
    ) external view returns (bytes32) {
        return _accessDigest(dataHash, keccak256(targetPubkey), nonce, deadline);
    }

    /// @inheritdoc IOracleVerifier
    function ownershipProofDigest(OwnershipProof calldata proof) external view returns (bytes32) {
        return _ownershipDigest(proof, keccak256(proof.targetPubkey));
    }

    // ─── Internal ─────────────────────────────────────────────────────────────────────────────────

    function _context() private view returns (Context memory) {
        return
            Context(
                INodeStaking(_REGISTRY.getModule(_STAKING)),
                IFlow(_REGISTRY.getModule(_FLOW)),
                address(0)
            );
    }

    /// @dev The receiver's consent: returns its signer (the caller checks who that may be).
    function _verifyAccess(
        uint256 index,
        AccessProof calldata proof,
        bytes32 dataHash,
        bytes32 pubkeyHash
    ) private returns (address signer) {
        _checkDeadline(index, proof.deadline);
        signer = _recover(
            index,
            _accessDigest(dataHash, pubkeyHash, proof.nonce, proof.deadline),
            proof.signature
        );
        _useNonce(signer, proof.nonce);
    }

    /// @dev The oracle's attestation: returns the oracle, active in the `ORACLE` role.
    function _verifyOwnership(
        Context memory context,
        uint256 index,
        OwnershipProof calldata proof,
        bytes32 pubkeyHash
    ) private returns (address oracle) {
        if (proof.oracleType != OracleType.TEE)
            revert OracleVerifierUnsupportedOracleType(index, proof.oracleType);
        _checkDeadline(index, proof.deadline);
        bytes32 newDataHash = proof.newDataHash;
        if (newDataHash == bytes32(0)) revert OracleVerifierZeroDataHash(index);
        if (newDataHash == proof.oldDataHash) revert OracleVerifierDataNotRotated(index, newDataHash);
        oracle = _recover(index, _ownershipDigest(proof, pubkeyHash), proof.signature);
        _useNonce(oracle, proof.nonce);
        if (oracle != context.activeOracle) {
            if (!context.staking.isActive(oracle, INodeStaking.Role.ORACLE)) {
                revert OracleVerifierInactiveOracle(oracle);
            }
            context.activeOracle = oracle;
        }
        if (!context.flow.isSubmitted(newDataHash)) revert OracleVerifierDataNotSubmitted(newDataHash);
    }

    /// @dev The address of a 64-byte uncompressed public key (the low 20 bytes of its keccak256), and that hash.
    function _receiverOf(
        uint256 index,
        bytes calldata pubkey
    ) private pure returns (address receiver, bytes32 pubkeyHash) {
        if (pubkey.length != _PUBKEY_BYTES) revert OracleVerifierInvalidPubkey(index, pubkey.length);
        pubkeyHash = keccak256(pubkey);
        receiver = address(uint160(uint256(pubkeyHash)));
    }

    function _checkDeadline(uint256 index, uint256 deadline) private view {
        if (deadline < block.timestamp) revert OracleVerifierProofExpired(index, deadline);
        uint256 latest = block.timestamp + MAX_PROOF_VALIDITY;
        if (deadline > latest) revert OracleVerifierDeadlineTooFar(index, deadline, latest);
    }

    function _recover(
        uint256 index,
        bytes32 digest,
        bytes calldata signature
    ) private pure returns (address) {
        (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (error != ECDSA.RecoverError.NoError) revert OracleVerifierInvalidSignature(index, uint8(error));
        return signer;
    }

    /// @dev Sets the nonce's bit for (caller, signer); reverts if it was set.
    function _useNonce(address signer, uint256 nonce) private {
        uint256 bit = 1 << (nonce & 255);
        uint256 bits = _nonces[msg.sender][signer][nonce >> 8] ^= bit;
        if (bits & bit == 0) revert OracleVerifierNonceUsed(signer, nonce);
    }

    function _accessDigest(
        bytes32 dataHash,
        bytes32 pubkeyHash,
        uint256 nonce,
        uint256 deadline
    ) private view returns (bytes32) {
        return
            _hashTypedDataV4(keccak256(abi.encode(_ACCESS_TYPEHASH, dataHash, pubkeyHash, nonce, deadline)));
    }

    function _ownershipDigest(
        OwnershipProof calldata proof,
        bytes32 pubkeyHash
    ) private view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        _OWNERSHIP_TYPEHASH,
                        proof.oracleType,
                        proof.oldDataHash,
                        proof.newDataHash,
                        keccak256(proof.sealedKey),
                        pubkeyHash,
                        proof.nonce,
                        proof.deadline
                    )
                )
            );
    }
}
