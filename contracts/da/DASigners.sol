// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {RegistryGovernedUpgradeable} from "../core/RegistryGovernedUpgradeable.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {INodeStaking} from "../staking/interfaces/INodeStaking.sol";
import {IDASigners} from "./interfaces/IDASigners.sol";
import {BN254} from "./libraries/BN254.sol";

/**
 * @title DASigners
 * @notice The DA signer set (see `IDASigners`). Deployed behind an ERC-1967 proxy (UUPS); governance (the
 * registry owner) sets the epoch length and authorizes upgrades. NodeStaking is looked up in the registry.
 * @dev Invariants:
 * - a key is registered once per operator and never changes; a key hash maps to at most one operator;
 * - epochs are numbered by segments `(anchorEpoch, anchorBlock, epochBlocks)`; a new length applies from the
 *   start of the next epoch, so `currentEpoch()` never decreases;
 * - a frozen epoch never changes: `apk = Σ pkG1` and `totalWeight = Σ weight` over its `count` signers, each
 *   stored in one slot as `operator | weight << 160` and, for attestations, in one more as
 *   `keccak256(abi.encode(pkG1.X, pkG1.Y, weight))` (what a non-signer's calldata is checked against).
 *
 * Gas: an attestation (`attestationQuorum`) reads the clock, the epoch's three slots and one slot per non-signer
 * (its key and weight come in calldata, checked against that slot): about 4,700 gas a non-signer in `attest`
 * (calldata included), so the `MAX_NON_SIGNERS` = 128 worst case costs about 600,000 more than none (measured: 85
 * of 256 not signing, 585,000 in all). `freezeEpoch` writes two slots per signer: about 63,000 gas a NATIVE
 * signer (measured: 100 signers 6.3 million; `MAX_SIGNERS` = 256 16.0 million, under the 2^24 transaction cap).
 */
contract DASigners is IDASigners, RegistryGovernedUpgradeable {
    bytes32 private constant _STAKING = "NodeStaking";
    /// @notice The most signers an epoch has (bounds `freezeEpoch`: 256 NATIVE signers, about 16.0 million gas),
    /// and the most a bitmap may leave out (bounds `attest`: 128 non-signers, about 600,000 gas more than none).
    uint256 public constant MAX_SIGNERS = 256;
    uint256 public constant MAX_NON_SIGNERS = 128;
    uint256 private constant _MIN_EPOCH_BLOCKS = 2;
    uint256 private constant _MAX_EPOCH_BLOCKS = 1_000_000;

    /// @dev Epoch numbering: from `anchorBlock` on, epoch `anchorEpoch + (block - anchorBlock) / epochBlocks`;
    /// before it (while a new length is pending), the previous segment's. One slot.
    struct Clock {
        uint32 epochBlocks;
        uint40 anchorEpoch;
        uint48 anchorBlock;
        uint32 prevEpochBlocks;
        uint40 prevAnchorEpoch;
        uint48 prevAnchorBlock;
    }

    struct Epoch {
        // slot 0
        bool frozen;
        uint16 count;
        uint96 totalWeight;
        // slots 1-2
        BN254.G1Point apk;
        mapping(uint256 index => uint256 packed) signers;
        mapping(uint256 index => bytes32 keyHash) signerKeys;
    }

    /// @custom:storage-location erc7201:zerog.da.DASigners
    struct SignersStorage {
        IModuleRegistry registry;
        Clock clock;
        mapping(address operator => BN254.G1Point) keys;
        mapping(bytes32 keyHash => address operator) keyOwner;
        address[] registered;
        mapping(uint256 epoch => Epoch) epochs;
    }

    // keccak256(abi.encode(uint256(keccak256("zerog.da.DASigners")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _STORAGE_SLOT =
        0xf2e9753bc29301a06b1682a95cf4123772d1b11b82118717410dcdd67bb64700;

    /**
     * @notice Sets up the proxy's state; epoch 0 starts at this block.
     * @param registry_ The module registry; its owner is governance.
     * @param epochBlocks_ Blocks per epoch.
     */
    function initialize(address registry_, uint256 epochBlocks_) external initializer {
        if (registry_ == address(0)) revert DASignersZeroAddress();
        _validate(epochBlocks_);
        SignersStorage storage $ = _s();
        $.registry = IModuleRegistry(registry_);
        $.clock.epochBlocks = uint32(epochBlocks_);
        $.clock.anchorBlock = SafeCast.toUint48(block.number);
        emit EpochBlocksSet(epochBlocks_, 0, block.number);
    }

    /// @inheritdoc IDASigners
    function register(
        BN254.G1Point calldata pkG1,
        BN254.G2Point calldata pkG2,
        BN254.G1Point calldata pop
    ) external {
        SignersStorage storage $ = _s();
        if (!_staking($).isActive(msg.sender, INodeStaking.Role.DA_SIGNER))
            revert DASignersNotActive(msg.sender);
        if ($.keys[msg.sender].X != 0) revert DASignersAlreadyRegistered(msg.sender);
        if (pkG1.X == 0 && pkG1.Y == 0) revert DASignersInvalidKey();
        bytes32 keyHash = keccak256(abi.encode(pkG1));
        address owner = $.keyOwner[keyHash];
        if (owner != address(0)) revert DASignersKeyTaken(owner);
        bytes32 message = keccak256(
            abi.encode("zerog-stack DA signer", block.chainid, address(this), msg.sender, pkG1.X, pkG1.Y)
        );
        if (!BN254.verify(BN254.hashToG1(message), pkG1, pkG2, pop))
            revert DASignersInvalidProofOfPossession();
        $.keys[msg.sender] = pkG1;
        $.keyOwner[keyHash] = msg.sender;
        $.registered.push(msg.sender);
        emit SignerRegistered(msg.sender, pkG1, pkG2);
    }

    /// @inheritdoc IDASigners
    function freezeEpoch() external returns (uint256 epoch) {
        SignersStorage storage $ = _s();
        epoch = _currentEpoch($.clock);
        Epoch storage e = $.epochs[epoch];
        if (e.frozen) revert DASignersAlreadyFrozen(epoch);
        INodeStaking staking = _staking($);
        bool native = staking.mode() == INodeStaking.Mode.NATIVE;
        address[] storage registered = $.registered;
        uint256 count = 0;
        uint256 total = 0;
        BN254.G1Point memory apk;
        for (uint256 i = 0; i < registered.length && count < MAX_SIGNERS; ++i) {
            address operator = registered[i];
            if (!staking.isActive(operator, INodeStaking.Role.DA_SIGNER)) continue;
            uint256 weight = native ? staking.positionOf(operator, INodeStaking.Role.DA_SIGNER).bonded : 1;
            e.signers[count] = uint256(uint160(operator)) | (uint256(SafeCast.toUint96(weight)) << 160);
            BN254.G1Point memory key = $.keys[operator];
            e.signerKeys[count] = keccak256(abi.encode(key.X, key.Y, weight));
            apk = BN254.add(apk, key);
            total += weight;
            ++count;
        }
        if (count == 0) revert DASignersNoSigners(epoch);
        e.frozen = true;
        e.count = uint16(count);
        e.totalWeight = SafeCast.toUint96(total);
        e.apk = apk;
        emit EpochFrozen(epoch, count, total, apk);
    }

    /// @inheritdoc IDASigners
    function setEpochBlocks(uint256 epochBlocks_) external onlyGovernance {
        _validate(epochBlocks_);
        Clock memory c = _s().clock;
        uint256 next = _currentEpoch(c) + 1;
        if (block.number >= c.anchorBlock) {
            // No change pending: the current segment becomes the previous one, the new one starts next epoch.
            uint256 nextBlock = c.anchorBlock + (next - c.anchorEpoch) * c.epochBlocks;
            c.prevEpochBlocks = c.epochBlocks;
            c.prevAnchorEpoch = c.anchorEpoch;
            c.prevAnchorBlock = c.anchorBlock;
            c.anchorEpoch = SafeCast.toUint40(next);
            c.anchorBlock = SafeCast.toUint48(nextBlock);
        }
        c.epochBlocks = uint32(epochBlocks_);
        _s().clock = c;
        emit EpochBlocksSet(epochBlocks_, c.anchorEpoch, c.anchorBlock);
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDASigners
    function epochBlocks() external view returns (uint256) {
        Clock memory c = _s().clock;
        return block.number >= c.anchorBlock ? c.epochBlocks : c.prevEpochBlocks;
    }

    /// @inheritdoc IDASigners
    function currentEpoch() external view returns (uint256) {
        return _currentEpoch(_s().clock);
    }

    /// @inheritdoc IDASigners
    function epochInfo(uint256 epoch) external view returns (EpochInfo memory) {
        Epoch storage e = _s().epochs[epoch];
        return EpochInfo({frozen: e.frozen, signers: e.count, totalWeight: e.totalWeight, apk: e.apk});
    }

    /// @inheritdoc IDASigners
    function epochSigners(uint256 epoch) external view returns (Signer[] memory list) {
        Epoch storage e = _frozen(epoch);
        list = new Signer[](e.count);
        for (uint256 i = 0; i < list.length; ++i) {
            (list[i].operator, list[i].weight) = _unpack(e.signers[i]);
        }
    }

    /// @inheritdoc IDASigners
    function signerAt(uint256 epoch, uint256 index) external view returns (address, uint256) {
        Epoch storage e = _frozen(epoch);
        if (index >= e.count) revert DASignersNoSuchSigner(epoch, index);
        return _unpack(e.signers[index]);
    }

    /// @inheritdoc IDASigners
    function keyOf(address operator) external view returns (BN254.G1Point memory) {
        return _s().keys[operator];
    }

    /// @inheritdoc IDASigners
    function registeredOperators() external view returns (address[] memory) {
        return _s().registered;
    }

    /// @inheritdoc IDASigners
    function quorum(uint256 epoch, uint256 nonSignerBitmap) external view returns (Quorum memory q) {
        SignersStorage storage $ = _s();
        (Epoch storage e, ) = _checkedEpoch(epoch, nonSignerBitmap);
        q.totalWeight = e.totalWeight;
        q.signedWeight = q.totalWeight;
        q.apk = e.apk;
        if (nonSignerBitmap == 0) return q;
        BN254.G1Point memory missing;
        for (uint256 bits = nonSignerBitmap; bits != 0; bits &= bits - 1) {
            (address operator, uint256 weight) = _unpack(e.signers[_lowestBit(bits)]);
            q.signedWeight -= weight;
            missing = BN254.add(missing, $.keys[operator]);
        }
        q.apk = BN254.add(q.apk, BN254.neg(missing));
    }

    /// @inheritdoc IDASigners
    function signedWeight(uint256 epoch, uint256 nonSignerBitmap) external view returns (uint256 weight) {
        (Epoch storage e, ) = _checkedEpoch(epoch, nonSignerBitmap);
        weight = e.totalWeight;
        for (uint256 bits = nonSignerBitmap; bits != 0; bits &= bits - 1) {
            weight -= e.signers[_lowestBit(bits)] >> 160;
        }
    }

    /// @inheritdoc IDASigners
    function attestationQuorum(
        uint256 epoch,
        uint256 nonSignerBitmap,
        NonSigner[] calldata nonSigners
    ) external view returns (uint256 current, Quorum memory q) {
        current = _currentEpoch(_s().clock);
        if (epoch > current || epoch + 1 < current) return (current, q);
        (Epoch storage e, uint256 ones) = _checkedEpoch(epoch, nonSignerBitmap);
        if (nonSigners.length != ones) revert DASignersNonSignerCountMismatch(ones, nonSigners.length);
        uint256 total = e.totalWeight;
        q.totalWeight = total;
        q.apk = e.apk;
        if (ones == 0) {
            q.signedWeight = total;
            return (current, q);
        }
        uint256 missing;
        (q.apk, missing) = _subtractNonSigners(e.signerKeys, nonSignerBitmap, nonSigners, q.apk);
        // Cannot underflow: the weights are the recorded ones, whose sum is the total.
        q.signedWeight = total - missing;
    }

    // ─── Internals ────────────────────────────────────────────────────────────────────────────────

    function _validate(uint256 epochBlocks_) private pure {
        if (epochBlocks_ < _MIN_EPOCH_BLOCKS || epochBlocks_ > _MAX_EPOCH_BLOCKS) {
            revert DASignersInvalidEpochBlocks(epochBlocks_);
        }
    }

    function _currentEpoch(Clock memory c) private view returns (uint256) {
        if (block.number >= c.anchorBlock)
            return c.anchorEpoch + (block.number - c.anchorBlock) / c.epochBlocks;
        return c.prevAnchorEpoch + (block.number - c.prevAnchorBlock) / c.prevEpochBlocks;
    }

    function _frozen(uint256 epoch) private view returns (Epoch storage e) {
        e = _s().epochs[epoch];
        if (!e.frozen) revert DASignersEpochNotFrozen(epoch);
    }

    /// @dev The frozen epoch, after checking that the bitmap names at most `MAX_NON_SIGNERS` of its signers, and
    /// how many it names.
    function _checkedEpoch(
        uint256 epoch,
        uint256 bitmap
    ) private view returns (Epoch storage e, uint256 ones) {
        e = _frozen(epoch);
        uint256 count = e.count;
        if (count < 256 && bitmap >> count != 0) revert DASignersInvalidBitmap(bitmap, count);
        ones = _popcount(bitmap);
        if (ones > MAX_NON_SIGNERS) revert DASignersTooManyNonSigners(ones);
    }

    /**
     * @dev `apk` minus the non-signers' keys, and Σ of their weights, after checking each entry (the 96 bytes of a
     * `NonSigner`: X, Y, weight) against its record `keys[index]`, index = the entry's bit of `bits`, lowest first
     * (the caller checked that there are as many entries as bits). Per entry: one cold read, two keccaks, one
     * ecAdd of the key negated (a registered key is never infinity, so 0 < Y < p). Scratch memory at the free
     * pointer: [0x00, 0x80) the ecAdd input (running sum, X, p − Y) over the entry at [0x40, 0xa0), then the
     * record's mapping key (index, slot) at [0xa0, 0xe0).
     */
    function _subtractNonSigners(
        mapping(uint256 => bytes32) storage keys,
        uint256 bits,
        NonSigner[] calldata nonSigners,
        BN254.G1Point memory apk
    ) private view returns (BN254.G1Point memory sum, uint256 missing) {
        uint256 p = BN254.P;
        uint256 wrong = type(uint256).max;
        bool ok = true;
        sum = BN254.G1Point(apk.X, apk.Y);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(add(m, 0xc0), keys.slot)
            for {
                let at := nonSigners.offset
                let end := add(at, mul(nonSigners.length, 0x60))
            } lt(at, end) {
                at := add(at, 0x60)
            } {
                let low := and(bits, add(not(bits), 1))
                bits := xor(bits, low)
                // index = log2(low), branchless.
                let index := shl(7, lt(0xffffffffffffffffffffffffffffffff, low))
                index := or(index, shl(6, lt(0xffffffffffffffff, shr(index, low))))
                index := or(index, shl(5, lt(0xffffffff, shr(index, low))))
                index := or(index, shl(4, lt(0xffff, shr(index, low))))
                index := or(index, shl(3, lt(0xff, shr(index, low))))
                index := or(index, shl(2, lt(0xf, shr(index, low))))
                index := or(index, shl(1, lt(0x3, shr(index, low))))
                index := or(index, lt(0x1, shr(index, low)))
                calldatacopy(add(m, 0x40), at, 0x60)
                mstore(add(m, 0xa0), index)
                if iszero(eq(keccak256(add(m, 0x40), 0x60), sload(keccak256(add(m, 0xa0), 0x40)))) {
                    wrong := index
                    break
                }
                // Weights are the recorded uint96 ones: no overflow.
                missing := add(missing, mload(add(m, 0x80)))
                mstore(add(m, 0x60), sub(p, mload(add(m, 0x60))))
                mstore(m, mload(sum))
                mstore(add(m, 0x20), mload(add(sum, 0x20)))
                if iszero(staticcall(gas(), 0x06, m, 0x80, sum, 0x40)) {
                    ok := 0
                    break
                }
            }
        }
        if (wrong != type(uint256).max) revert DASignersWrongNonSigner(wrong);
        if (!ok) revert BN254.BN254InvalidPoint();
    }

    function _unpack(uint256 packed) private pure returns (address operator, uint256 weight) {
        return (address(uint160(packed)), packed >> 160);
    }

    /// @dev The index of the lowest set bit of a non-zero word.
    function _lowestBit(uint256 bits) private pure returns (uint256 index) {
        uint256 low = bits & (~bits + 1);
        // solhint-disable-next-line no-inline-assembly
        assembly {
            // 2^k has exactly k trailing zeros: binary search on halves.
            if iszero(and(low, 0xffffffffffffffffffffffffffffffff)) {
                index := 128
                low := shr(128, low)
            }
            if iszero(and(low, 0xffffffffffffffff)) {
                index := add(index, 64)
                low := shr(64, low)
            }
            if iszero(and(low, 0xffffffff)) {
                index := add(index, 32)
                low := shr(32, low)
            }
            if iszero(and(low, 0xffff)) {
                index := add(index, 16)
                low := shr(16, low)
            }
            if iszero(and(low, 0xff)) {
                index := add(index, 8)
                low := shr(8, low)
            }
            if iszero(and(low, 0xf)) {
                index := add(index, 4)
                low := shr(4, low)
            }
            if iszero(and(low, 0x3)) {
                index := add(index, 2)
                low := shr(2, low)
            }
            if iszero(and(low, 0x1)) {
                index := add(index, 1)
            }
        }
    }

    function _popcount(uint256 bits) private pure returns (uint256 count) {
        for (; bits != 0; bits &= bits - 1) ++count;
    }

    function _staking(SignersStorage storage $) private view returns (INodeStaking) {
        return INodeStaking($.registry.getModule(_STAKING));
    }

    /// @dev The registry, from this module's namespace.
    function _registry() internal view override returns (IModuleRegistry) {
        return _s().registry;
    }

    function _revertNotGovernance(address caller) internal pure override {
        revert DASignersNotGovernance(caller);
    }

    function _s() private pure returns (SignersStorage storage $) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            $.slot := _STORAGE_SLOT
        }
    }
}
