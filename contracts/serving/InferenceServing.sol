// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {RegistryGovernedUpgradeable} from "../core/RegistryGovernedUpgradeable.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {TypedDataHash} from "../libraries/TypedDataHash.sol";
import {INodeStaking} from "../staking/interfaces/INodeStaking.sol";
import {IInferenceServing} from "./interfaces/IInferenceServing.sol";
import {IServingLedger} from "./interfaces/IServingLedger.sol";

/**
 * @title InferenceServing
 * @notice The registry of inference services and the settlement of users' EIP-712 vouchers (see
 * `IInferenceServing`). Deployed behind an ERC-1967 proxy (UUPS); governance (the registry owner) authorizes
 * upgrades. NodeStaking and the ServingLedger are looked up in the registry at call time.
 * @dev How a batch is settled. `settle` checks every voucher in order (range, signature, nonce, amount) against
 * the (user, provider) state, and records each accepted one at once as if fully paid (`settled = amount`,
 * `nonce`), so that a second voucher of the same user in the batch is checked against the first. It then makes
 * ONE `charge` call to the ledger with what each accepted voucher owes, and takes what the ledger could not pay
 * (a sub-account short of coin) back off `settled`. The domain separator is computed once per batch.
 * Invariants:
 * - for every (user, provider), `nonce` only increases and `settled` is the sum of what the ledger paid for the
 *   user's accepted vouchers to the provider; `settled <= amount` of the last accepted voucher;
 * - a voucher is accepted only if signed by `user` for `msg.sender` on this chain and contract, with a nonce
 *   above the recorded one, so each signed voucher pays at most once;
 * - the provider of a registered service was an active `PROVIDER` in NodeStaking when it last registered or
 *   updated it, and a service has non-zero prices only if a ledger was registered then; a provider is in
 *   `providers` iff it has a service (`services[provider].provider == provider`).
 */
contract InferenceServing is IInferenceServing, IERC5267, RegistryGovernedUpgradeable {
    using EnumerableSet for EnumerableSet.AddressSet;

    bytes32 private constant _STAKING = "NodeStaking";
    bytes32 private constant _LEDGER = "ServingLedger";
    uint256 private constant _MAX_MODEL_BYTES = 64;
    uint256 private constant _MAX_URL_BYTES = 256;
    uint256 private constant _MASK_128 = type(uint128).max;

    string private constant _NAME = "zerog InferenceServing";
    string private constant _VERSION = "1";
    // The type strings are hashed at compile time; nothing long is stored or hashed at run time.
    // solhint-disable gas-small-strings
    bytes32 private constant _DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    bytes32 private constant _NAME_HASH = keccak256(bytes(_NAME));
    bytes32 private constant _VERSION_HASH = keccak256(bytes(_VERSION));
    bytes32 private constant _VOUCHER_TYPEHASH = keccak256(
        "Voucher(address user,address provider,uint256 amount,uint256 nonce)"
    );
    // solhint-enable gas-small-strings

    /// @inheritdoc IInferenceServing
    uint256 public constant MAX_BATCH = 200;

    /// @custom:storage-location erc7201:zerog.storage.InferenceServing
    struct ServingStorage {
        IModuleRegistry registry;
        EnumerableSet.AddressSet providers;
        mapping(address provider => Service) services;
        // VoucherState packed: settled in the low 128 bits, nonce in the high 128 bits (one slot per pair).
        mapping(address user => mapping(address provider => uint256)) vouchers;
    }

    // keccak256(abi.encode(uint256(keccak256("zerog.storage.InferenceServing")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _STORAGE_SLOT =
        0xb84f09daf9ed3cd18026668ab9167cdc21b6e2e19cf6d4f395dd7c374106f600;

    /**
     * @notice Sets up the proxy's state. Called once, by the proxy's constructor.
     * @param registry_ The module registry; its owner is governance.
     */
    function initialize(address registry_) external initializer {
        if (registry_ == address(0)) revert ServingZeroAddress();
        _s().registry = IModuleRegistry(registry_);
    }

    // ─── Services ─────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IInferenceServing
    function register(ServiceParams calldata params) external {
        ServingStorage storage $ = _s();
        _requireActiveProvider($);
        if ($.providers.contains(msg.sender)) revert ServingAlreadyRegistered(msg.sender);
        _validate($, params);
        $.providers.add(msg.sender);
        _store($, params);
        emit ServiceRegistered(msg.sender, params);
    }

    /// @inheritdoc IInferenceServing
    function update(ServiceParams calldata params) external {
        ServingStorage storage $ = _s();
        _requireActiveProvider($);
        if (!$.providers.contains(msg.sender)) revert ServingNotRegistered(msg.sender);
        _validate($, params);
        _store($, params);
        emit ServiceUpdated(msg.sender, params);
    }

    /// @inheritdoc IInferenceServing
    function remove() external {
        ServingStorage storage $ = _s();
        if (!$.providers.remove(msg.sender)) revert ServingNotRegistered(msg.sender);
        delete $.services[msg.sender];
        emit ServiceRemoved(msg.sender);
    }

    // ─── Settlement ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IInferenceServing
    function settle(
        SignedVoucher[] calldata vouchers
    ) external returns (uint256[] memory paid, Rejection[] memory rejections) {
        uint256 count = vouchers.length;
        if (count == 0 || count > MAX_BATCH) revert ServingInvalidBatch(count);
        ServingStorage storage $ = _s();
        address ledger = $.registry.tryGetModule(_LEDGER);
        if (ledger == address(0)) revert ServingNoLedger();
        IServingLedger.Charge[] memory charges = new IServingLedger.Charge[](count);
        rejections = new Rejection[](count);
        uint256 owed = _accept($, vouchers, charges, rejections);
        paid = owed == 0 ? new uint256[](count) : IServingLedger(ledger).charge(msg.sender, charges);
        _record($, vouchers, charges, paid, rejections);
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IInferenceServing
    function isRegistered(address provider) external view returns (bool) {
        return _s().providers.contains(provider);
    }

    /// @inheritdoc IInferenceServing
    function serviceOf(address provider) external view returns (Service memory) {
        ServingStorage storage $ = _s();
        if (!$.providers.contains(provider)) revert ServingNotRegistered(provider);
        return $.services[provider];
    }

    /// @inheritdoc IInferenceServing
    function services() external view returns (Service[] memory list) {
        ServingStorage storage $ = _s();
        address[] memory providers = $.providers.values();
        list = new Service[](providers.length);
        for (uint256 i = 0; i < providers.length; ++i) {
            list[i] = $.services[providers[i]];
        }
    }

    /// @inheritdoc IInferenceServing
    function voucherStateOf(address user, address provider) external view returns (VoucherState memory) {
        uint256 word = _s().vouchers[user][provider];
        // Both halves are below 2^128 by construction.
        return VoucherState(uint128(word), uint128(word >> 128));
    }

    /// @inheritdoc IInferenceServing
    function voucherDigest(
        address user,
        address provider,
        uint256 amount,
        uint256 nonce
    ) external view returns (bytes32) {
        return _digest(_domainSeparator(), user, provider, amount, nonce);
    }

    /// @inheritdoc IERC5267
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        // 0x0f: name, version, chainId and verifyingContract.
        return (hex"0f", _NAME, _VERSION, block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    // ─── Internal ─────────────────────────────────────────────────────────────────────────────────

    /// @dev The registry is a field of this module's namespace.
    function _registry() internal view override returns (IModuleRegistry) {
        return _s().registry;
    }

    /// @dev Reverts with `ServingNotGovernance(caller)`.
    function _revertNotGovernance(address caller) internal pure override {
        revert ServingNotGovernance(caller);
    }

    function _requireActiveProvider(ServingStorage storage $) private view {
        address staking = $.registry.tryGetModule(_STAKING);
        if (
            staking == address(0) || !INodeStaking(staking).isActive(msg.sender, INodeStaking.Role.PROVIDER)
        ) {
            revert ServingNotProvider(msg.sender);
        }
    }

    function _validate(ServingStorage storage $, ServiceParams calldata params) private view {
        uint256 modelBytes = bytes(params.model).length;
        if (modelBytes == 0 || modelBytes > _MAX_MODEL_BYTES) revert ServingInvalidService("model");
        uint256 urlBytes = bytes(params.url).length;
        if (urlBytes == 0 || urlBytes > _MAX_URL_BYTES) revert ServingInvalidService("url");
        if (params.signer == address(0)) revert ServingInvalidService("signer");
        if (
            (params.inputPrice != 0 || params.outputPrice != 0) &&
            $.registry.tryGetModule(_LEDGER) == address(0)
        ) revert ServingPaidWithoutLedger();
    }

    function _store(ServingStorage storage $, ServiceParams calldata params) private {
        Service storage service = $.services[msg.sender];
        service.provider = msg.sender;
        service.updatedAt = uint64(block.timestamp);
        service.params = params;
    }

    /**
     * @dev Checks every voucher and records each accepted one as if fully paid; fills what each owes into
     * `charges` (zero for the others) and the reasons into `rejections`. Returns the total owed.
     */
    function _accept(
        ServingStorage storage $,
        SignedVoucher[] calldata vouchers,
        IServingLedger.Charge[] memory charges,
        Rejection[] memory rejections
    ) private returns (uint256 total) {
        bytes32 domain = _domainSeparator();
        uint256 count = vouchers.length;
        for (uint256 i = 0; i < count; ++i) {
            SignedVoucher calldata voucher = vouchers[i];
            (Rejection reason, uint256 owed) = _check($, domain, voucher);
            if (reason != Rejection.None) {
                rejections[i] = reason;
            } else if (owed != 0) {
                // The array's structs are already allocated: fill them rather than allocate new ones.
                IServingLedger.Charge memory owing = charges[i];
                owing.user = voucher.user;
                owing.amount = owed;
                // owed < 2^128 and count <= MAX_BATCH: no overflow.
                total += owed;
            }
        }
    }

    /// @dev Checks one voucher; if accepted, records its amount and nonce and returns what it owes.
    function _check(
        ServingStorage storage $,
        bytes32 domain,
        SignedVoucher calldata voucher
    ) private returns (Rejection, uint256 owed) {
        address user = voucher.user;
        uint256 amount = voucher.amount;
        uint256 nonce = voucher.nonce;
        if (amount > _MASK_128 || nonce > _MASK_128) return (Rejection.OutOfRange, 0);
        bytes32 digest = _digest(domain, user, msg.sender, amount, nonce);
        (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, voucher.signature);
        if (err != ECDSA.RecoverError.NoError || signer != user) return (Rejection.BadSignature, 0);
        mapping(address provider => uint256) storage states = $.vouchers[user];
        uint256 word = states[msg.sender];
        if (nonce <= word >> 128) return (Rejection.StaleNonce, 0);
        uint256 settled = word & _MASK_128;
        if (amount < settled) return (Rejection.AmountBelowSettled, 0);
        states[msg.sender] = amount | (nonce << 128);
        // unchecked: amount >= settled.
        unchecked {
            owed = amount - settled;
        }
        return (Rejection.None, owed);
    }

    /// @dev Takes what the ledger did not pay off `settled`, and reports every voucher.
    function _record(
        ServingStorage storage $,
        SignedVoucher[] calldata vouchers,
        IServingLedger.Charge[] memory charges,
        uint256[] memory paid,
        Rejection[] memory rejections
    ) private {
        uint256 count = vouchers.length;
        for (uint256 i = 0; i < count; ++i) {
            SignedVoucher calldata voucher = vouchers[i];
            Rejection reason = rejections[i];
            if (reason != Rejection.None) {
                emit VoucherRejected(voucher.user, msg.sender, voucher.nonce, reason);
                continue;
            }
            uint256 unpaid = charges[i].amount - paid[i];
            if (unpaid != 0) {
                // unchecked: for a user's vouchers accepted in this batch, settled went from s0 to s0 + Σ owed and
                // Σ unpaid <= Σ owed, so the low 128 bits never borrow from the nonce.
                unchecked {
                    $.vouchers[voucher.user][msg.sender] -= unpaid;
                }
            }
            emit VoucherSettled(voucher.user, msg.sender, voucher.nonce, voucher.amount, paid[i]);
        }
    }

    function _domainSeparator() private view returns (bytes32) {
        return
            keccak256(abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, address(this)));
    }

    /// @dev The EIP-712 digest of a voucher: hashStruct written in scratch memory past the free memory pointer.
    function _digest(
        bytes32 domain,
        address user,
        address provider,
        uint256 amount,
        uint256 nonce
    ) private pure returns (bytes32) {
        return
            TypedDataHash.digest4(
                domain,
                _VOUCHER_TYPEHASH,
                bytes32(uint256(uint160(user))),
                bytes32(uint256(uint160(provider))),
                bytes32(amount),
                bytes32(nonce)
            );
    }

    function _s() private pure returns (ServingStorage storage $) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            $.slot := _STORAGE_SLOT
        }
    }
}
