// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC7857DataVerifier} from "./IERC7857DataVerifier.sol";

/**
 * @title IERC7857Metadata
 * @notice The intelligent data of an ERC-7857 token: an ordered list of entries, each a description and the hash
 * of an encrypted blob (in zerog-stack, the storage root of a submission recorded by the Flow), as in 0G's
 * second-generation reference (`IntelligentData`, `intelligentDatasOf`). The ERC draft's `update(tokenId, bytes[])`
 * becomes `update(tokenId, IntelligentData[], OwnershipProof[])`: the new data travels with the oracle's
 * attestations.
 */
interface IERC7857Metadata is IERC721Metadata {
    /// @notice One data entry of a token.
    /// @param dataDescription What the entry is (e.g. "model weights", "memory").
    /// @param dataHash The hash of the encrypted data (a storage root).
    struct IntelligentData {
        string dataDescription;
        bytes32 dataHash;
    }

    /// @notice Emitted when the owner updates a token's data.
    /// @param tokenId The token.
    /// @param oldDatas The token's entries before the update.
    /// @param newDatas The token's entries after it.
    event Updated(uint256 indexed tokenId, IntelligentData[] oldDatas, IntelligentData[] newDatas);

    /**
     * @notice Replaces and/or appends data entries of a token the caller owns.
     * @param tokenId The token.
     * @param newDatas The new or replacing entries, one per proof.
     * @param proofs Oracle attestations whose `newDataHash` is the matching entry's hash and whose `targetPubkey`
     * is the owner's key; `oldDataHash` names the entry replaced, zero to append.
     */
    function update(
        uint256 tokenId,
        IntelligentData[] calldata newDatas,
        IERC7857DataVerifier.OwnershipProof[] calldata proofs
    ) external;

    /// @notice The data entries of a token, in order; reverts for a token that does not exist.
    function intelligentDatasOf(uint256 tokenId) external view returns (IntelligentData[] memory);
}
