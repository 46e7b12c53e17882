// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {IRegistryGoverned} from "../../core/interfaces/IRegistryGoverned.sol";

/**
 * @title IAlignmentLicense
 * @notice An alignment license: an ERC-721 token that is one vote in alignment governance (ERC721Votes, clock: block
 * number). The supply is capped at deployment; licenses are minted by governance (the registry owner) or by the
 * initial minter until it renounces; they cannot change hands before `transferableAfter`. A holder with no delegate
 * is self-delegated whenever it receives a license. A holder may name an operator, an active `ALIGNMENT` member of
 * NodeStaking, to run a license for a commission; a transfer clears it.
 */
interface IAlignmentLicense is IERC721, IVotes, IRegistryGoverned {
    /// @notice A zero address where an account is needed.
    error LicenseZeroAddress();
    /// @notice `maxSupply` is zero.
    error LicenseZeroSupply();
    /// @notice Every license that can ever exist has been minted.
    error LicenseSupplyCapped(uint256 maxSupply);
    /// @notice The caller is neither governance nor the minter.
    error LicenseNotMinter(address caller);
    /// @notice The caller is not governance.
    error LicenseNotGovernance(address caller);
    /// @notice The license cannot change hands before `transferableAfter`.
    error LicenseSoulbound(uint256 tokenId, uint64 transferableAfter);
    /// @notice The caller does not hold the license.
    error LicenseNotHolder(uint256 tokenId, address caller);
    /// @notice The operator is not an active `ALIGNMENT` member of NodeStaking.
    error LicenseOperatorNotActive(address operator);
    /// @notice The commission is above 10,000 basis points.
    error LicenseCommissionTooHigh(uint16 commissionBps);
    /// @notice The license has no operator to clear.
    error LicenseNoOperator(uint256 tokenId);

    /// @notice The initial minter gave up minting for good.
    event MinterRenounced(address indexed minter);
    /// @notice The holder handed the running of a license to `operator` for `commissionBps`.
    event OperatorSet(
        uint256 indexed tokenId,
        address indexed holder,
        address indexed operator,
        uint16 commissionBps
    );
    /// @notice The license has no operator any more (cleared by its holder, or by a transfer).
    event OperatorCleared(uint256 indexed tokenId, address indexed operator);

    /// @notice Mints the next license to `to` (self-delegated if it has no delegate). Governance or the minter.
    function mint(address to) external returns (uint256 tokenId);

    /// @notice The minter gives up minting for good (governance still mints). Only the minter.
    function renounceMinter() external;

    /// @notice Hands the running of `tokenId` to `operator` for `commissionBps` (≤ 10,000). Only the holder.
    function setOperator(uint256 tokenId, address operator, uint16 commissionBps) external;

    /// @notice Takes the running of `tokenId` back. Only the holder.
    function clearOperator(uint256 tokenId) external;

    /// @notice The license's operator and commission (zero when none).
    function operatorOf(uint256 tokenId) external view returns (address operator, uint16 commissionBps);

    /// @notice Whether `account` holds `tokenId` or is its operator.
    function isAuthorized(uint256 tokenId, address account) external view returns (bool);

    /// @notice The most licenses that can ever exist.
    function maxSupply() external view returns (uint256);

    /// @notice Licenses minted so far (ids are 1 … totalMinted).
    function totalMinted() external view returns (uint256);

    /// @notice Unix time from which licenses may change hands.
    function transferableAfter() external view returns (uint64);

    /// @notice The account that may mint besides governance (zero once renounced).
    function minter() external view returns (address);
}
