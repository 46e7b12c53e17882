// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryGoverned} from "../../core/interfaces/IRegistryGoverned.sol";

/**
 * @title IInferenceServing
 * @notice The registry of inference services and the settlement of what users owe them. A provider staked in
 * the `PROVIDER` role registers one service. Users pay with EIP-712 vouchers: each authorizes a cumulative
 * amount to one provider with a strictly increasing nonce, so one signature covers any number of requests,
 * and settling pays only the difference since the last settled voucher, from the user's sub-account in the
 * ServingLedger.
 * @dev Voucher typed data: `Voucher(address user,address provider,uint256 amount,uint256 nonce)` in the domain
 * `{name: "zerog InferenceServing", version: "1", chainId, verifyingContract: this}`. A service with non-zero
 * prices needs the "ServingLedger" module; without it (the `no-token` profile) services are free and nothing is
 * settled (`settle` reverts with `ServingNoLedger`).
 */
interface IInferenceServing is IRegistryGoverned {
    /// @notice What a provider registers.
    /// @param model The model id clients ask for (e.g. "zg-builtin-1").
    /// @param modelHash A hash that identifies the model's weights (keccak256 of the serialized model).
    /// @param url The base URL of the OpenAI-compatible endpoint.
    /// @param inputPrice Wei per input token.
    /// @param outputPrice Wei per output token.
    /// @param region Region code (e.g. "eu"), right-padded; zero for none.
    /// @param signer The address that signs responses (the TEE key in a TEE deployment).
    /// @param deterministic Whether the engine returns bit-identical output for the same model, input and
    /// parameters, so that anyone can re-execute a response.
    struct ServiceParams {
        string model;
        bytes32 modelHash;
        string url;
        uint256 inputPrice;
        uint256 outputPrice;
        bytes32 region;
        address signer;
        bool deterministic;
    }

    /// @notice A registered service.
    struct Service {
        address provider;
        uint64 updatedAt;
        ServiceParams params;
    }

    /// @notice A user's voucher with its signature, as the provider submits it.
    /// @param user The user who signed.
    /// @param amount The cumulative amount the user has authorized to the provider (below 2^128).
    /// @param nonce Strictly greater than the nonce of the last settled voucher of (user, provider), which
    /// starts at zero; below 2^128.
    /// @param signature The user's 65-byte EIP-712 signature, `s` in the lower half order (the provider is the
    /// caller of `settle`).
    struct SignedVoucher {
        address user;
        uint256 amount;
        uint256 nonce;
        bytes signature;
    }

    /// @notice The last settled voucher of a (user, provider).
    /// @param settled The cumulative amount paid so far: the last accepted voucher's amount, less what the ledger
    /// could not pay of it.
    /// @param nonce The nonce of the last settled voucher.
    struct VoucherState {
        uint128 settled;
        uint128 nonce;
    }

    /// @notice Why a voucher was refused. The checks run in the order `OutOfRange`, `BadSignature`,
    /// `StaleNonce`, `AmountBelowSettled`; the first that fails is reported.
    /// @dev `None`: accepted. `OutOfRange`: amount or nonce at or above 2^128. `BadSignature`: not a valid
    /// 65-byte low-`s` signature by `user` of this voucher for the caller, on this chain and contract.
    /// `StaleNonce`: nonce not above the last settled one (this includes a replay). `AmountBelowSettled`:
    /// amount below what was already settled.
    enum Rejection {
        None,
        BadSignature,
        StaleNonce,
        AmountBelowSettled,
        OutOfRange
    }

    /// @notice Thrown when a zero address is given where an account or contract is needed.
    error ServingZeroAddress();
    /// @notice Thrown when the caller is not governance (the registry owner).
    error ServingNotGovernance(address caller);
    /// @notice Thrown when the caller is not staked and active in the `PROVIDER` role.
    error ServingNotProvider(address caller);
    /// @notice Thrown when the caller already has a service (use `update`).
    error ServingAlreadyRegistered(address provider);
    /// @notice Thrown when the provider has no service.
    error ServingNotRegistered(address provider);
    /// @notice Thrown when a service field is empty or too long.
    error ServingInvalidService(string field);
    /// @notice Thrown when a service sets a price but no "ServingLedger" module is deployed to pay it.
    error ServingPaidWithoutLedger();
    /// @notice Thrown when `settle` gets no vouchers or more than `MAX_BATCH`.
    error ServingInvalidBatch(uint256 size);
    /// @notice Thrown when `settle` is called and no "ServingLedger" module is registered (services are free).
    error ServingNoLedger();

    /// @notice Emitted when a provider registers its service.
    event ServiceRegistered(address indexed provider, ServiceParams params);
    /// @notice Emitted when a provider changes its service.
    event ServiceUpdated(address indexed provider, ServiceParams params);
    /// @notice Emitted when a provider removes its service.
    event ServiceRemoved(address indexed provider);
    /// @notice Emitted for each accepted voucher: its nonce is recorded and it paid `paid`.
    /// @param paid What this voucher paid: the difference since the last settled one, capped by the
    /// sub-account's balance (zero when nothing was owed or the sub-account is empty).
    event VoucherSettled(
        address indexed user,
        address indexed provider,
        uint256 nonce,
        uint256 amount,
        uint256 paid
    );
    /// @notice Emitted for each refused voucher, with the reason; it changes nothing and the batch goes on.
    event VoucherRejected(address indexed user, address indexed provider, uint256 nonce, Rejection reason);

    /**
     * @notice Registers the caller's service. The caller must be an active `PROVIDER` in the module registered as
     * "NodeStaking". `model` must be 1..64 bytes, `url` 1..256 bytes, `signer` non-zero, and non-zero prices
     * need a "ServingLedger" module.
     */
    function register(ServiceParams calldata params) external;

    /// @notice Replaces the caller's service parameters, under the same conditions as `register`.
    function update(ServiceParams calldata params) external;

    /**
     * @notice Removes the caller's service. Only a registered service is needed, not an active stake, so that a
     * provider that left or was jailed can still delist. Vouchers already signed can still be settled.
     */
    function remove() external;

    /**
     * @notice Settles vouchers owed to the caller, paying each the difference between its amount and what was
     * already settled for its user, capped at the user's sub-account balance, through one `charge` of the
     * "ServingLedger" module for the whole batch (none when nothing is owed). A voucher that is forged, for
     * another provider, chain or contract, replayed, older than the last settled one, or below what was settled
     * pays nothing and is reported by `VoucherRejected`; the batch is never reverted for one user. An accepted
     * voucher records its nonce even when the ledger could not pay all of it: a later voucher, cumulative,
     * covers the rest. Neither a registered service nor an active stake is needed to settle.
     * @dev Vouchers of one batch are checked in order, each against the state the earlier ones left as if they
     * were paid in full; what the ledger could not pay is then taken off `settled`.
     * @param vouchers 1..`MAX_BATCH` vouchers, in any order of users (a user may appear more than once).
     * @return paid What each voucher paid, in order.
     * @return rejections Why each voucher was refused (`None` for an accepted one).
     */
    function settle(
        SignedVoucher[] calldata vouchers
    ) external returns (uint256[] memory paid, Rejection[] memory rejections);

    /// @notice Whether `provider` has a service.
    function isRegistered(address provider) external view returns (bool);

    /// @notice The service of `provider`; reverts with `ServingNotRegistered` when there is none.
    function serviceOf(address provider) external view returns (Service memory);

    /// @notice Every registered service, in registration order (removal swaps the last one in).
    function services() external view returns (Service[] memory);

    /// @notice The last settled voucher of (user, provider).
    function voucherStateOf(address user, address provider) external view returns (VoucherState memory);

    /// @notice The EIP-712 digest a user signs for a voucher.
    function voucherDigest(
        address user,
        address provider,
        uint256 amount,
        uint256 nonce
    ) external view returns (bytes32);

    /// @notice The largest batch `settle` accepts.
    // solhint-disable-next-line func-name-mixedcase
    function MAX_BATCH() external view returns (uint256);
}
