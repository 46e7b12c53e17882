// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721Votes} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721Votes.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {RegistryGoverned} from "../core/RegistryGoverned.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {INodeStaking} from "../staking/interfaces/INodeStaking.sol";
import {IAlignmentLicense} from "./interfaces/IAlignmentLicense.sol";

/**
 * @title AlignmentLicense
 * @notice The alignment license ("zerog Alignment License", ZGAL; see `IAlignmentLicense`). Not upgradeable.
 * @dev Invariants:
 * - token ids are `1 … _totalMinted`, each minted once (there is no burn), and `_totalMinted <= MAX_SUPPLY`;
 * - before `TRANSFERABLE_AFTER` a license only moves by minting;
 * - `_operators[id].operator != 0` only while the holder who set it still holds `id` (a transfer deletes it);
 * - an account that ever received a license has a non-zero delegate (self-delegated at receipt when it had none).
 */
contract AlignmentLicense is ERC721Votes, IAlignmentLicense, RegistryGoverned {
    /// @dev A license's operator and commission: one slot.
    struct Operator {
        address operator;
        uint16 commissionBps;
    }

    uint256 private constant _MAX_BPS = 10_000;
    bytes32 private constant _NODE_STAKING = "NodeStaking";

    IModuleRegistry private immutable _REGISTRY;
    uint256 private immutable _MAX_SUPPLY;
    uint64 private immutable _TRANSFERABLE_AFTER;

    address private _minter;
    uint256 private _totalMinted;
    mapping(uint256 tokenId => Operator) private _operators;

    /**
     * @param registry_ The module registry: governance, and the "NodeStaking" lookup.
     * @param maxSupply_ The most licenses that can ever exist (≥ 1).
     * @param soulboundSeconds Licenses cannot change hands for this long after deployment.
     * @param minter_ The account that mints the initial distribution besides governance (zero: governance only).
     */
    constructor(
        address registry_,
        uint256 maxSupply_,
        uint64 soulboundSeconds,
        address minter_
    ) ERC721("zerog Alignment License", "ZGAL") EIP712("zerog AlignmentLicense", "1") {
        if (registry_ == address(0)) revert LicenseZeroAddress();
        if (maxSupply_ == 0) revert LicenseZeroSupply();
        _REGISTRY = IModuleRegistry(registry_);
        _MAX_SUPPLY = maxSupply_;
        _TRANSFERABLE_AFTER = uint64(block.timestamp) + soulboundSeconds;
        _minter = minter_;
    }

    // ─── Minting ──────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IAlignmentLicense
    function mint(address to) external returns (uint256 tokenId) {
        if (msg.sender != _minter && msg.sender != _REGISTRY.owner()) revert LicenseNotMinter(msg.sender);
        tokenId = _totalMinted + 1;
        if (tokenId > _MAX_SUPPLY) revert LicenseSupplyCapped(_MAX_SUPPLY);
        _totalMinted = tokenId;
        _mint(to, tokenId);
    }

    /// @inheritdoc IAlignmentLicense
    function renounceMinter() external {
        if (msg.sender != _minter || msg.sender == address(0)) revert LicenseNotMinter(msg.sender);
        _minter = address(0);
        emit MinterRenounced(msg.sender);
    }

    // ─── Operators ────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IAlignmentLicense
    function setOperator(uint256 tokenId, address operator, uint16 commissionBps) external {
        address holder = _requireOwned(tokenId);
        if (holder != msg.sender) revert LicenseNotHolder(tokenId, msg.sender);
        if (operator == address(0)) revert LicenseZeroAddress();
        if (commissionBps > _MAX_BPS) revert LicenseCommissionTooHigh(commissionBps);
        INodeStaking staking = INodeStaking(_REGISTRY.getModule(_NODE_STAKING));
        if (!staking.isActive(operator, INodeStaking.Role.ALIGNMENT))
            revert LicenseOperatorNotActive(operator);
        _operators[tokenId] = Operator(operator, commissionBps);
        emit OperatorSet(tokenId, holder, operator, commissionBps);
    }

    /// @inheritdoc IAlignmentLicense
    function clearOperator(uint256 tokenId) external {
        address holder = _requireOwned(tokenId);
        if (holder != msg.sender) revert LicenseNotHolder(tokenId, msg.sender);
        address operator = _operators[tokenId].operator;
        if (operator == address(0)) revert LicenseNoOperator(tokenId);
        delete _operators[tokenId];
        emit OperatorCleared(tokenId, operator);
    }

    /// @inheritdoc IAlignmentLicense
    function operatorOf(uint256 tokenId) external view returns (address operator, uint16 commissionBps) {
        Operator memory entry = _operators[tokenId];
        return (entry.operator, entry.commissionBps);
    }

    /// @inheritdoc IAlignmentLicense
    function isAuthorized(uint256 tokenId, address account) external view returns (bool) {
        if (account == address(0)) return false;
        return _ownerOf(tokenId) == account || _operators[tokenId].operator == account;
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IAlignmentLicense
    function maxSupply() external view returns (uint256) {
        return _MAX_SUPPLY;
    }

    /// @inheritdoc IAlignmentLicense
    function totalMinted() external view returns (uint256) {
        return _totalMinted;
    }

    /// @inheritdoc IAlignmentLicense
    function transferableAfter() external view returns (uint64) {
        return _TRANSFERABLE_AFTER;
    }

    /// @inheritdoc IAlignmentLicense
    function minter() external view returns (address) {
        return _minter;
    }

    // ─── Internals ────────────────────────────────────────────────────────────────────────────────

    /**
     * @dev Every mint and transfer: refuses transfers while soulbound, clears the operator on a transfer, moves the
     * vote, and self-delegates a receiver that has no delegate (after the move, so its whole balance counts).
     */
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0)) {
            if (block.timestamp < _TRANSFERABLE_AFTER) revert LicenseSoulbound(tokenId, _TRANSFERABLE_AFTER);
            address operator = _operators[tokenId].operator;
            if (operator != address(0)) {
                delete _operators[tokenId];
                emit OperatorCleared(tokenId, operator);
            }
        }
        if (to != address(0) && delegates(to) == address(0)) _delegate(to, to);
    }

    /// @inheritdoc RegistryGoverned
    function _registry() internal view override returns (IModuleRegistry) {
        return _REGISTRY;
    }

    /// @inheritdoc RegistryGoverned
    function _revertNotGovernance(address caller) internal pure override {
        revert LicenseNotGovernance(caller);
    }
}
