// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {ERC721Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC721/ERC721Upgradeable.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {IAgentNFT} from "./interfaces/IAgentNFT.sol";
import {IERC7857} from "./interfaces/IERC7857.sol";
import {IERC7857DataVerifier} from "./interfaces/IERC7857DataVerifier.sol";
import {IERC7857Metadata} from "./interfaces/IERC7857Metadata.sol";

/**
 * @title AgentNFT
 * @notice zerog-stack's ERC-7857 agent token ("zerog Agent", ZGA; see `IAgentNFT`). Deployed behind an ERC-1967
 * proxy (UUPS); governance (the registry owner) sets the mint fee, withdraws the fees and authorizes upgrades.
 * The data verifier is the module registered as "OracleVerifier", looked up at call time.
 *
 * `update` semantics: each proof either appends an entry (`oldDataHash` zero) or replaces the first entry whose
 * hash is its `oldDataHash`, with the matching `newDatas` entry (description and hash). Entries are never removed,
 * so an agent only grows, up to `MAX_DATA_ENTRIES`.
 *
 * Authorized users belong to a generation of the token: a transfer that finds users starts a new, empty
 * generation (one write, whatever the number of users), so the new owner starts with none.
 * @dev Invariants:
 * - `tokens[id].dataCount <= MAX_DATA_ENTRIES` and entries `0 … dataCount-1` of `datas[id]` are the token's data,
 *   each with a non-zero hash; `dataCount` never decreases;
 * - `tokens[id].authorizedCount <= MAX_AUTHORIZED_USERS`; for the current generation `g`,
 *   `authorized[id][g].users[0 … authorizedCount-1]` are distinct and non-zero, and `positions[u]` is the
 *   1-based index of `u` among them, or zero;
 * - a token with `dataCount != 0` changes owner only through `iTransferFrom`, and each of its entries then gets
 *   a new hash attested by an oracle and accepted by the receiver;
 * - `address(this).balance` is the fees collected and not withdrawn (there is no `receive`);
 * - token ids are `1 … lastTokenId`, each minted once (there is no burn).
 */
contract AgentNFT is Initializable, ERC721Upgradeable, UUPSUpgradeable, IAgentNFT {
    bytes32 private constant _ORACLE_VERIFIER = "OracleVerifier";

    /// @inheritdoc IAgentNFT
    uint256 public constant MAX_DATA_ENTRIES = 32;
    /// @inheritdoc IAgentNFT
    uint256 public constant MAX_AUTHORIZED_USERS = 100;

    /// @dev Everything a transfer reads about a token besides ERC-721 ownership and data hashes: one slot.
    struct TokenState {
        uint8 dataCount;
        uint8 authorizedCount;
        uint64 generation;
    }

    /// @dev The users authorized in one generation of a token, as an indexed set.
    struct Authorized {
        mapping(uint256 index => address) users;
        mapping(address user => uint256 positionPlusOne) positions;
    }

    /// @custom:storage-location erc7201:zerog.storage.AgentNFT
    struct AgentNFTStorage {
        // Read together by every mint and clone: one slot.
        uint128 mintFee;
        uint128 lastTokenId;
        mapping(uint256 tokenId => TokenState) tokens;
        mapping(uint256 tokenId => mapping(uint256 index => IntelligentData)) datas;
        mapping(address user => address assistant) delegates;
        mapping(uint256 tokenId => mapping(uint256 generation => Authorized)) authorized;
    }

    // keccak256(abi.encode(uint256(keccak256("zerog.storage.AgentNFT")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _STORAGE_SLOT =
        0x8659cfc17254d624f291005c589da3d85a894775e7785af8441a43beff9ff100;

    /// @custom:oz-upgrades-unsafe-allow state-variable-immutable
    IModuleRegistry private immutable _REGISTRY;

    modifier onlyGovernance() {
        if (msg.sender != _REGISTRY.owner()) revert AgentNFTNotGovernance(msg.sender);
        _;
    }

    /**
     * @param registry_ The module registry: governance and the "OracleVerifier" lookup. Fixed per implementation
     * (an immutable, saving a storage read per call): changing it is an upgrade.
     * @custom:oz-upgrades-unsafe-allow constructor
     */
    constructor(address registry_) {
        if (registry_ == address(0)) revert AgentNFTZeroAddress();
        _REGISTRY = IModuleRegistry(registry_);
        _disableInitializers();
    }

    /**
     * @notice Sets up the proxy's state. Called once, by the proxy's constructor.
     * @param mintFee_ The first mint fee, in wei (zero: free minting, the `no-token` profile).
     */
    function initialize(uint256 mintFee_) external initializer {
        __ERC721_init("zerog Agent", "ZGA");
        _setMintFee(mintFee_);
    }

    // ─── Minting and data ─────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IAgentNFT
    function mint(
        address to,
        IntelligentData[] calldata datas,
        IERC7857DataVerifier.OwnershipProof[] calldata proofs
    ) external payable returns (uint256 tokenId) {
        if (to == address(0)) revert ERC721InvalidReceiver(address(0));
        uint256 count = datas.length;
        if (count > MAX_DATA_ENTRIES) revert AgentNFTTooManyEntries(count, MAX_DATA_ENTRIES);
        if (proofs.length != count) revert AgentNFTProofCountMismatch(count, proofs.length);
        tokenId = _collectFeeForNewToken();
        _mint(to, tokenId);
        if (count == 0) return tokenId;

        AgentNFTStorage storage $ = _s();
        IERC7857DataVerifier.OwnershipProofOutput[] memory outputs = _verifier().verifyOwnership(proofs);
        mapping(uint256 => IntelligentData) storage entries = $.datas[tokenId];
        for (uint256 i = 0; i < count; ++i) {
            IERC7857DataVerifier.OwnershipProofOutput memory output = outputs[i];
            if (output.oldDataHash != bytes32(0))
                revert AgentNFTDataHashMismatch(i, bytes32(0), output.oldDataHash);
            _checkNewData(i, datas[i].dataHash, output, to);
            entries[i] = datas[i];
        }
        // count <= MAX_DATA_ENTRIES < 2^8.
        $.tokens[tokenId].dataCount = uint8(count);
        emit PublishedSealedKey(to, tokenId, _sealedKeysOf(proofs));
    }

    /// @inheritdoc IERC7857Metadata
    function update(
        uint256 tokenId,
        IntelligentData[] calldata newDatas,
        IERC7857DataVerifier.OwnershipProof[] calldata proofs
    ) external {
        address owner = _requireOwned(tokenId);
        if (owner != msg.sender) revert AgentNFTNotTokenOwner(tokenId, msg.sender);
        uint256 changes = newDatas.length;
        if (changes == 0) revert AgentNFTEmptyUpdate();
        if (proofs.length != changes) revert AgentNFTProofCountMismatch(changes, proofs.length);

        TokenState storage token = _s().tokens[tokenId];
        IntelligentData[] memory oldDatas = _datasOf(tokenId, token.dataCount);
        IERC7857DataVerifier.OwnershipProofOutput[] memory outputs = _verifier().verifyOwnership(proofs);
        uint256 count = _applyUpdate(tokenId, oldDatas.length, owner, newDatas, outputs);
        // count <= MAX_DATA_ENTRIES < 2^8.
        token.dataCount = uint8(count);
        emit Updated(tokenId, oldDatas, _datasOf(tokenId, count));
        emit PublishedSealedKey(owner, tokenId, _sealedKeysOf(proofs));
    }

    // ─── Transfers ────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IERC7857
    function iTransferFrom(
        address from,
        address to,
        uint256 tokenId,
        IERC7857DataVerifier.TransferValidityProof[] calldata proofs
    ) external {
        if (to == address(0)) revert ERC721InvalidReceiver(address(0));
        // Checks the caller's rights and that the token exists, moves it and clears its authorizations.
        address previousOwner = _update(to, tokenId, msg.sender);
        if (previousOwner != from) revert ERC721IncorrectOwner(from, tokenId, previousOwner);
        _handOver(tokenId, tokenId, to, proofs);
        emit Transferred(tokenId, from, to);
    }

    /// @inheritdoc IERC7857
    function iCloneFrom(
        address from,
        address to,
        uint256 tokenId,
        IERC7857DataVerifier.TransferValidityProof[] calldata proofs
    ) external payable returns (uint256 newTokenId) {
        if (to == address(0)) revert ERC721InvalidReceiver(address(0));
        address owner = _requireOwned(tokenId);
        if (owner != from) revert ERC721IncorrectOwner(from, tokenId, owner);
        _checkAuthorized(owner, msg.sender, tokenId);
        newTokenId = _collectFeeForNewToken();
        _mint(to, newTokenId);
        // dataCount <= MAX_DATA_ENTRIES < 2^8.
        _s().tokens[newTokenId].dataCount = uint8(_handOver(tokenId, newTokenId, to, proofs));
        emit Cloned(tokenId, newTokenId, from, to);
    }

    /**
     * @notice A plain ERC-721 transfer; reverts with `AgentNFTIntelligentToken` while the token holds data (use
     * `iTransferFrom`). `safeTransferFrom` goes through here too.
     */
    function transferFrom(
        address from,
        address to,
        uint256 tokenId
    ) public override(ERC721Upgradeable, IERC721) {
        if (_s().tokens[tokenId].dataCount != 0) revert AgentNFTIntelligentToken(tokenId);
        super.transferFrom(from, to, tokenId);
    }

    // ─── Authorization and delegation ─────────────────────────────────────────────────────────────

    /// @inheritdoc IERC7857
    function authorizeUsage(uint256 tokenId, address user) external {
        _requireTokenOwner(tokenId);
        if (user == address(0)) revert AgentNFTInvalidUser(user);
        TokenState storage token = _s().tokens[tokenId];
        Authorized storage authorized = _s().authorized[tokenId][token.generation];
        if (authorized.positions[user] != 0) revert AgentNFTAlreadyAuthorized(tokenId, user);
        uint256 count = token.authorizedCount;
        if (count == MAX_AUTHORIZED_USERS)
            revert AgentNFTTooManyAuthorizedUsers(tokenId, MAX_AUTHORIZED_USERS);
        authorized.users[count] = user;
        authorized.positions[user] = count + 1;
        // count < MAX_AUTHORIZED_USERS < 2^8.
        token.authorizedCount = uint8(count + 1);
        emit Authorization(msg.sender, user, tokenId);
    }

    /// @inheritdoc IERC7857
    function revokeAuthorization(uint256 tokenId, address user) external {
        _requireTokenOwner(tokenId);
        TokenState storage token = _s().tokens[tokenId];
        Authorized storage authorized = _s().authorized[tokenId][token.generation];
        uint256 position = authorized.positions[user];
        if (position == 0) revert AgentNFTNotAuthorized(tokenId, user);
        // The last user takes the revoked one's place. position >= 1 and count >= position.
        uint256 last = token.authorizedCount - 1;
        if (position - 1 != last) {
            address moved = authorized.users[last];
            authorized.users[position - 1] = moved;
            authorized.positions[moved] = position;
        }
        delete authorized.users[last];
        delete authorized.positions[user];
        // last < MAX_AUTHORIZED_USERS < 2^8.
        token.authorizedCount = uint8(last);
        emit AuthorizationRevoked(msg.sender, user, tokenId);
    }

    /// @inheritdoc IERC7857
    function delegateAccess(address assistant) external {
        _s().delegates[msg.sender] = assistant;
        emit DelegateAccess(msg.sender, assistant);
    }

    // ─── Governance ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IAgentNFT
    function setMintFee(uint256 fee) external onlyGovernance {
        _setMintFee(fee);
    }

    /// @inheritdoc IAgentNFT
    function withdrawFees(address to) external onlyGovernance {
        if (to == address(0)) revert AgentNFTZeroAddress();
        uint256 amount = address(this).balance;
        if (amount == 0) revert AgentNFTNothingToWithdraw();
        emit FeesWithdrawn(to, amount);
        (bool ok, ) = payable(to).call{value: amount}("");
        if (!ok) revert AgentNFTTransferFailed(to, amount);
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IERC7857Metadata
    function intelligentDatasOf(uint256 tokenId) external view returns (IntelligentData[] memory) {
        _requireOwned(tokenId);
        return _datasOf(tokenId, _s().tokens[tokenId].dataCount);
    }

    /// @inheritdoc IERC7857
    function authorizedUsersOf(uint256 tokenId) external view returns (address[] memory users) {
        _requireOwned(tokenId);
        TokenState storage token = _s().tokens[tokenId];
        Authorized storage authorized = _s().authorized[tokenId][token.generation];
        uint256 count = token.authorizedCount;
        users = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            users[i] = authorized.users[i];
        }
    }

    /// @inheritdoc IAgentNFT
    function isAuthorizedUser(uint256 tokenId, address user) external view returns (bool) {
        return _s().authorized[tokenId][_s().tokens[tokenId].generation].positions[user] != 0;
    }

    /// @inheritdoc IERC7857
    function getDelegateAccess(address user) external view returns (address) {
        return _s().delegates[user];
    }

    /// @inheritdoc IERC7857
    function verifier() external view returns (IERC7857DataVerifier) {
        return IERC7857DataVerifier(_REGISTRY.tryGetModule(_ORACLE_VERIFIER));
    }

    /// @inheritdoc IAgentNFT
    function registry() external view returns (address) {
        return address(_REGISTRY);
    }

    /// @inheritdoc IAgentNFT
    function mintFee() external view returns (uint256) {
        return _s().mintFee;
    }

    /// @inheritdoc IAgentNFT
    function totalMinted() external view returns (uint256) {
        return _s().lastTokenId;
    }

    /// @inheritdoc IERC165
    function supportsInterface(
        bytes4 interfaceId
    ) public view override(ERC721Upgradeable, IERC165) returns (bool) {
        return
            interfaceId == type(IERC7857).interfaceId ||
            interfaceId == type(IERC7857Metadata).interfaceId ||
            super.supportsInterface(interfaceId);
    }

    // ─── Internal ─────────────────────────────────────────────────────────────────────────────────

    /// @dev Every ownership change (not a mint) ends the token's authorizations by starting a new generation.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0)) {
            TokenState storage token = _s().tokens[tokenId];
            if (token.authorizedCount != 0) {
                token.authorizedCount = 0;
                ++token.generation;
            }
        }
    }

    function _authorizeUpgrade(address) internal view override onlyGovernance {}

    /**
     * @dev Verifies the proofs that hand the data of `sourceId` over to `to` as token `targetId` (the same token
     * for a transfer, the clone for a clone), writes the new hashes (and, for a clone, the descriptions) and
     * publishes the sealed keys. Returns the number of entries.
     */
    function _handOver(
        uint256 sourceId,
        uint256 targetId,
        address to,
        IERC7857DataVerifier.TransferValidityProof[] calldata proofs
    ) private returns (uint256 count) {
        AgentNFTStorage storage $ = _s();
        count = $.tokens[sourceId].dataCount;
        if (proofs.length != count) revert AgentNFTProofCountMismatch(count, proofs.length);
        if (count == 0) return 0;

        IERC7857DataVerifier.TransferValidityProofOutput[] memory outputs = _verifier()
            .verifyTransferValidity(proofs);
        mapping(uint256 => IntelligentData) storage source = $.datas[sourceId];
        mapping(uint256 => IntelligentData) storage target = $.datas[targetId];
        address delegate;
        bytes[] memory sealedKeys = new bytes[](count);
        for (uint256 i = 0; i < count; ++i) {
            IERC7857DataVerifier.TransferValidityProofOutput memory output = outputs[i];
            bytes32 current = source[i].dataHash;
            if (output.oldDataHash != current)
                revert AgentNFTDataHashMismatch(i, current, output.oldDataHash);
            if (output.receiver != to) revert AgentNFTReceiverMismatch(i, to, output.receiver);
            if (output.accessSigner != to) {
                if (delegate == address(0)) delegate = $.delegates[to];
                if (output.accessSigner != delegate) {
                    revert AgentNFTAccessSignerMismatch(i, to, output.accessSigner);
                }
            }
            if (targetId != sourceId) target[i].dataDescription = source[i].dataDescription;
            target[i].dataHash = output.newDataHash;
            sealedKeys[i] = proofs[i].ownershipProof.sealedKey;
        }
        emit PublishedSealedKey(to, targetId, sealedKeys);
    }

    /**
     * @dev Applies checked ownership proofs to the `count` entries of a token: each appends its entry (old hash
     * zero) or replaces the first entry holding its old hash. Returns the new number of entries.
     */
    function _applyUpdate(
        uint256 tokenId,
        uint256 count,
        address owner,
        IntelligentData[] calldata newDatas,
        IERC7857DataVerifier.OwnershipProofOutput[] memory outputs
    ) private returns (uint256) {
        mapping(uint256 => IntelligentData) storage entries = _s().datas[tokenId];
        for (uint256 k = 0; k < outputs.length; ++k) {
            IERC7857DataVerifier.OwnershipProofOutput memory output = outputs[k];
            _checkNewData(k, newDatas[k].dataHash, output, owner);
            uint256 index;
            if (output.oldDataHash == bytes32(0)) {
                if (count == MAX_DATA_ENTRIES) revert AgentNFTTooManyEntries(count + 1, MAX_DATA_ENTRIES);
                index = count;
                ++count;
            } else {
                index = _indexOf(entries, count, k, output.oldDataHash);
            }
            entries[index] = newDatas[k];
        }
        return count;
    }

    /// @dev Takes the mint fee (exactly) and returns the next token id.
    function _collectFeeForNewToken() private returns (uint256 tokenId) {
        AgentNFTStorage storage $ = _s();
        uint256 fee = $.mintFee;
        if (msg.value != fee) revert AgentNFTFeeMismatch(fee, msg.value);
        tokenId = uint256($.lastTokenId) + 1;
        // Ids stay far below 2^128: each costs a transaction.
        $.lastTokenId = uint128(tokenId);
    }

    function _sealedKeysOf(
        IERC7857DataVerifier.OwnershipProof[] calldata proofs
    ) private pure returns (bytes[] memory sealedKeys) {
        sealedKeys = new bytes[](proofs.length);
        for (uint256 i = 0; i < proofs.length; ++i) {
            sealedKeys[i] = proofs[i].sealedKey;
        }
    }

    function _checkNewData(
        uint256 index,
        bytes32 declared,
        IERC7857DataVerifier.OwnershipProofOutput memory output,
        address receiver
    ) private pure {
        if (output.newDataHash != declared)
            revert AgentNFTNewDataHashMismatch(index, declared, output.newDataHash);
        if (output.receiver != receiver) revert AgentNFTReceiverMismatch(index, receiver, output.receiver);
    }

    /// @dev The first of the `count` entries whose hash is `dataHash`.
    function _indexOf(
        mapping(uint256 => IntelligentData) storage entries,
        uint256 count,
        uint256 proofIndex,
        bytes32 dataHash
    ) private view returns (uint256) {
        for (uint256 i = 0; i < count; ++i) {
            if (entries[i].dataHash == dataHash) return i;
        }
        revert AgentNFTUnknownDataHash(proofIndex, dataHash);
    }

    function _datasOf(uint256 tokenId, uint256 count) private view returns (IntelligentData[] memory datas) {
        mapping(uint256 => IntelligentData) storage entries = _s().datas[tokenId];
        datas = new IntelligentData[](count);
        for (uint256 i = 0; i < count; ++i) {
            datas[i] = entries[i];
        }
    }

    function _requireTokenOwner(uint256 tokenId) private view {
        if (_requireOwned(tokenId) != msg.sender) revert AgentNFTNotTokenOwner(tokenId, msg.sender);
    }

    function _verifier() private view returns (IERC7857DataVerifier) {
        return IERC7857DataVerifier(_REGISTRY.getModule(_ORACLE_VERIFIER));
    }

    function _setMintFee(uint256 fee) private {
        if (fee > type(uint128).max) revert AgentNFTFeeTooHigh(fee);
        _s().mintFee = uint128(fee);
        emit MintFeeSet(fee);
    }

    function _s() private pure returns (AgentNFTStorage storage $) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            $.slot := _STORAGE_SLOT
        }
    }
}
