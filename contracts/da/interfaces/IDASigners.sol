// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryGoverned} from "../../core/interfaces/IRegistryGoverned.sol";
import {BN254} from "../libraries/BN254.sol";

/**
 * @title IDASigners
 * @notice The DA signer set (docs/da.md, "Contracts"). An operator active in NodeStaking for `DA_SIGNER`
 * registers its BN254 BLS keys once, with a proof of possession; a key belongs to one operator only and never
 * changes. Epochs are `epochBlocks` blocks long; `freezeEpoch()` records, once per epoch, the epoch's signers
 * (every registered operator then active, in registration order), their weights (bonded stake; 1 in
 * PERMISSIONED mode), the total weight and the aggregate G1 key, which DAEntrance checks attestations against.
 */
interface IDASigners is IRegistryGoverned {
    /// @notice What is recorded about an epoch.
    /// @param frozen Whether `freezeEpoch` recorded it.
    /// @param signers How many signers it has.
    /// @param totalWeight Σ weight of its signers.
    /// @param apk Σ pkG1 of its signers.
    struct EpochInfo {
        bool frozen;
        uint256 signers;
        uint256 totalWeight;
        BN254.G1Point apk;
    }

    /// @notice One signer of an epoch.
    struct Signer {
        address operator;
        uint256 weight;
    }

    /// @notice The signers' side of an attestation, for DAEntrance (`quorum`).
    /// @param apk Σ pkG1 of the signers not in the bitmap.
    /// @param signedWeight Σ weight of the signers not in the bitmap.
    /// @param totalWeight Σ weight of all the epoch's signers.
    struct Quorum {
        BN254.G1Point apk;
        uint256 signedWeight;
        uint256 totalWeight;
    }

    /// @notice A non-signer of an attestation, as `attestationQuorum` takes it: its registered G1 key and its
    /// weight in the epoch, checked against the epoch's record `keccak256(abi.encode(pkG1.X, pkG1.Y, weight))`.
    struct NonSigner {
        BN254.G1Point pkG1;
        uint256 weight;
    }

    /// @notice Thrown when `initialize` is given no registry.
    error DASignersZeroAddress();
    /// @notice Thrown when the caller is not governance (the registry owner).
    error DASignersNotGovernance(address caller);
    /// @notice Thrown when `epochBlocks` is out of `[2, 1_000_000]`.
    error DASignersInvalidEpochBlocks(uint256 epochBlocks);
    /// @notice Thrown when registering while not an active `DA_SIGNER` in NodeStaking.
    error DASignersNotActive(address operator);
    /// @notice Thrown when the operator already registered a key.
    error DASignersAlreadyRegistered(address operator);
    /// @notice Thrown when the key is another operator's.
    error DASignersKeyTaken(address owner);
    /// @notice Thrown when the G1 key is the point at infinity.
    error DASignersInvalidKey();
    /// @notice Thrown when the proof of possession does not verify.
    error DASignersInvalidProofOfPossession();
    /// @notice Thrown when freezing an epoch already frozen.
    error DASignersAlreadyFrozen(uint256 epoch);
    /// @notice Thrown when freezing while no registered operator is active.
    error DASignersNoSigners(uint256 epoch);
    /// @notice Thrown when reading the signers of an epoch that was not frozen.
    error DASignersEpochNotFrozen(uint256 epoch);
    /// @notice Thrown when an epoch has no signer at `index`.
    error DASignersNoSuchSigner(uint256 epoch, uint256 index);
    /// @notice Thrown when `attestationQuorum` is given a different number of non-signers than the bitmap names.
    error DASignersNonSignerCountMismatch(uint256 expected, uint256 given);
    /// @notice Thrown when the key or weight given for non-signer `index` is not the epoch's record of it.
    error DASignersWrongNonSigner(uint256 index);
    /// @notice Thrown when a non-signer bitmap has a bit at or beyond the epoch's signer count.
    error DASignersInvalidBitmap(uint256 bitmap, uint256 signers);
    /// @notice Thrown when a bitmap names more than `MAX_NON_SIGNERS` non-signers.
    error DASignersTooManyNonSigners(uint256 count);

    /// @notice Emitted when an operator registers its keys.
    event SignerRegistered(address indexed operator, BN254.G1Point pkG1, BN254.G2Point pkG2);
    /// @notice Emitted when an epoch's signers are recorded.
    event EpochFrozen(uint256 indexed epoch, uint256 signers, uint256 totalWeight, BN254.G1Point apk);
    /// @notice Emitted when governance sets `epochBlocks`; it applies from `fromEpoch`, which starts at
    /// `fromBlock`.
    event EpochBlocksSet(uint256 epochBlocks, uint256 fromEpoch, uint256 fromBlock);

    /**
     * @notice Registers the caller's keys (once; the caller must be an active `DA_SIGNER`).
     * @param pkG1 sk·G1.
     * @param pkG2 sk·G2.
     * @param pop The signature by sk of `keccak256(abi.encode("zerog-stack DA signer", chainid, this, caller,
     * pkG1.X, pkG1.Y))`: proves possession of sk, and that both keys share it.
     */
    function register(
        BN254.G1Point calldata pkG1,
        BN254.G2Point calldata pkG2,
        BN254.G1Point calldata pop
    ) external;

    /// @notice Records the current epoch's signers (anyone; once per epoch; at most `MAX_SIGNERS`, the first
    /// active ones in registration order).
    /// @return epoch The epoch frozen.
    function freezeEpoch() external returns (uint256 epoch);

    /// @notice Governance: sets the epoch length, from the next epoch on (epoch numbers keep increasing).
    function setEpochBlocks(uint256 epochBlocks) external;

    /// @notice The current epoch length in blocks (the one of the current epoch).
    function epochBlocks() external view returns (uint256);

    /// @notice The epoch of the current block.
    function currentEpoch() external view returns (uint256);

    /// @notice What is recorded about `epoch`.
    function epochInfo(uint256 epoch) external view returns (EpochInfo memory);

    /// @notice The signers of a frozen epoch, in order (index k is bit k of a non-signer bitmap).
    function epochSigners(uint256 epoch) external view returns (Signer[] memory);

    /// @notice Signer `index` of a frozen epoch.
    function signerAt(uint256 epoch, uint256 index) external view returns (address operator, uint256 weight);

    /// @notice The G1 key `operator` registered ((0, 0) if none).
    function keyOf(address operator) external view returns (BN254.G1Point memory);

    /// @notice Every operator that registered a key, in registration order.
    function registeredOperators() external view returns (address[] memory);

    /// @notice The aggregate key and weights of a frozen epoch's signers outside `nonSignerBitmap` (bit k set:
    /// signer k did not sign; at most `MAX_NON_SIGNERS` bits, all below the signer count).
    function quorum(uint256 epoch, uint256 nonSignerBitmap) external view returns (Quorum memory);

    /// @notice Σ weight of a frozen epoch's signers outside `nonSignerBitmap` (checked as in `quorum`).
    function signedWeight(uint256 epoch, uint256 nonSignerBitmap) external view returns (uint256);

    /**
     * @notice What DAEntrance's `attest` needs, in one call: the current epoch and, when `epoch` is the current
     * or the previous one (else `q` is zero and nothing is checked), the quorum of `nonSignerBitmap` as `quorum`
     * gives it. The non-signers' keys and weights come in calldata, in bitmap order (lowest bit first), one per
     * set bit, each checked against the epoch's record (one storage read a non-signer, not three).
     * @param epoch The attested epoch (must be frozen when in range).
     * @param nonSignerBitmap Bit k set: signer k did not sign (at most `MAX_NON_SIGNERS`, all below the count).
     * @param nonSigners The non-signers' registered G1 keys and weights in the epoch, in bitmap order.
     * @return current The current epoch.
     * @return q The signers' aggregate key and weight, and the epoch's total weight.
     */
    function attestationQuorum(
        uint256 epoch,
        uint256 nonSignerBitmap,
        NonSigner[] calldata nonSigners
    ) external view returns (uint256 current, Quorum memory q);
}
