// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC7857DataVerifier} from "./IERC7857DataVerifier.sol";
import {IERC7857Metadata} from "./IERC7857Metadata.sol";

/**
 * @title IERC7857
 * @notice An ERC-721 token that carries encrypted data ("intelligent NFT", ERC-7857), in the shape of 0G's
 * second-generation reference: the data moves with the token only through `iTransferFrom` and `iCloneFrom`, which
 * take one `TransferValidityProof` per data entry and publish the data keys sealed to the receiver; the owner can
 * authorize users of the token (served by a sealed executor without seeing the data) and every account can name a
 * delegate that signs access proofs for it.
 */
interface IERC7857 is IERC721, IERC7857Metadata {
    /// @notice Emitted when a token moves with its data (the ERC draft's event).
    /// @param tokenId The token.
    /// @param from The previous owner.
    /// @param to The new owner.
    event Transferred(uint256 tokenId, address indexed from, address indexed to);

    /// @notice Emitted when a token is cloned (the ERC draft's event).
    /// @param tokenId The original token.
    /// @param newTokenId The clone.
    /// @param from The original's owner.
    /// @param to The clone's owner.
    event Cloned(uint256 indexed tokenId, uint256 indexed newTokenId, address from, address to);

    /// @notice Emitted when data keys are published to a token's owner.
    /// @param to Whose public key the keys are sealed to.
    /// @param tokenId The token.
    /// @param sealedKeys One sealed key per data entry that changed.
    event PublishedSealedKey(address indexed to, uint256 indexed tokenId, bytes[] sealedKeys);

    /// @notice Emitted when the owner authorizes a user of a token.
    /// @param from The owner.
    /// @param to The user.
    /// @param tokenId The token.
    event Authorization(address indexed from, address indexed to, uint256 indexed tokenId);

    /// @notice Emitted when the owner revokes a user of a token.
    /// @param from The owner.
    /// @param to The user.
    /// @param tokenId The token.
    event AuthorizationRevoked(address indexed from, address indexed to, uint256 indexed tokenId);

    /// @notice Emitted when an account names (or, with zero, removes) the delegate that signs its access proofs.
    /// @param user The account.
    /// @param assistant The delegate; zero for none.
    event DelegateAccess(address indexed user, address indexed assistant);

    /**
     * @notice Transfers a token with its data: the data is handed over as the proofs say, and the data keys are
     * published sealed to `to` (`PublishedSealedKey`).
     * @dev The caller must be the owner, approved for the token or an operator of the owner.
     * @param from The owner.
     * @param to The receiver.
     * @param tokenId The token.
     * @param proofs One proof per data entry, in the token's order.
     */
    function iTransferFrom(
        address from,
        address to,
        uint256 tokenId,
        IERC7857DataVerifier.TransferValidityProof[] calldata proofs
    ) external;

    /**
     * @notice Mints to `to` a new token whose data is the original's as the proofs hand it over; the original is
     * unchanged.
     * @dev The caller must be the owner, approved for the token or an operator of the owner.
     * @param from The owner of the original.
     * @param to The owner of the clone.
     * @param tokenId The original.
     * @param proofs One proof per data entry, in the original's order.
     * @return newTokenId The clone.
     */
    function iCloneFrom(
        address from,
        address to,
        uint256 tokenId,
        IERC7857DataVerifier.TransferValidityProof[] calldata proofs
    ) external payable returns (uint256 newTokenId);

    /// @notice The owner authorizes `user` to use the token (through a sealed executor), until revoked or until
    /// the token changes hands.
    function authorizeUsage(uint256 tokenId, address user) external;

    /// @notice The owner revokes an authorized user.
    function revokeAuthorization(uint256 tokenId, address user) external;

    /// @notice Names the delegate that may sign access proofs for the caller; zero removes it.
    function delegateAccess(address assistant) external;

    /// @notice The users the current owner authorized; reverts for a token that does not exist.
    function authorizedUsersOf(uint256 tokenId) external view returns (address[] memory);

    /// @notice The delegate of `user`, or zero.
    function getDelegateAccess(address user) external view returns (address);
}
