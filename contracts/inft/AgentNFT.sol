// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {RegistryGoverned} from "../core/RegistryGoverned.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {IAgentNFT} from "./interfaces/IAgentNFT.sol";
import {IERC7857} from "./interfaces/IERC7857.sol";
import {IERC7857DataVerifier} from "./interfaces/IERC7857DataVerifier.sol";
import {IERC7857Metadata} from "./interfaces/IERC7857Metadata.sol";
import {IOracleProofs} from "./interfaces/IOracleProofs.sol";
import {OracleProofs} from "./libraries/OracleProofs.sol";

/**
 * @title AgentNFT
 * @notice zerog-stack's ERC-7857 agent token ("zerog Agent", ZGA; see `IAgentNFT`). Not upgradeable: governance (the
 * registry owner) sets the mint fee and withdraws the fees. The token checks its proofs itself, with the
 * `OracleProofs` library, in its own EIP-712 domain ("zerog AgentNFT", version "1") and with its own nonces;
 * NodeStaking and the Flow are looked up in the registry at call time.
 *
 * `update` semantics: each proof either appends an entry (`oldDataHash` zero) or replaces the first entry whose
 * hash is its `oldDataHash`, with the matching `newDatas` entry (description and hash). Entries are never removed,
 * so an agent only grows, up to `MAX_DATA_ENTRIES`.
 *
 * Authorized users belong to a generation of the token: a transfer that finds users starts a new, empty
 * generation (one write, whatever the number of users), so the new owner starts with none.
 * @dev Invariants:
 * - `_tokens[id].dataCount <= MAX_DATA_ENTRIES` and entries `0 … dataCount-1` of `_datas[id]` are the token's data,
 *   each with a non-zero hash; `dataCount` never decreases;
 * - `_tokens[id].authorizedCount <= MAX_AUTHORIZED_USERS`; for the current generation `g`,
 *   `_authorized[id][g].users[0 … authorizedCount-1]` are distinct and non-zero, and `positions[u]` is the
 *   1-based index of `u` among them, or zero;
 * - a token with `dataCount != 0` changes owner only through `iTransferFrom`, and each of its entries then gets
 *   a new hash attested by an active oracle, recorded by the Flow and accepted by the receiver;
 * - a (receiver, nonce) is accepted at most once: its bit is set when accepted and never cleared;
 * - `_tokens[id].approved == (getApproved(id) != address(0))`;
 * - `address(this).balance` is the fees collected and not withdrawn (there is no `receive`);
 * - token ids are `1 … lastTokenId`, each minted once (there is no burn).
 */
contract AgentNFT is ERC721, EIP712, IAgentNFT, RegistryGoverned {
    using OracleProofs for OracleProofs.Nonces;

    /// @inheritdoc IAgentNFT
    uint256 public constant MAX_DATA_ENTRIES = 32;
    /// @inheritdoc IAgentNFT
    uint256 public constant MAX_AUTHORIZED_USERS = 100;
    /// @inheritdoc IOracleProofs
    uint256 public constant MAX_PROOF_VALIDITY = OracleProofs.MAX_PROOF_VALIDITY;

    /// @dev Everything a transfer reads about a token besides ERC-721 ownership and data hashes: one slot.
    /// `approved` is whether the token has an approved account (`getApproved(id) != 0`).
    struct TokenState {
        uint8 dataCount;
        uint8 authorizedCount;
        bool approved;
        uint64 generation;
    }

    /// @dev The users authorized in one generation of a token, as an indexed set.
    struct Authorized {
        mapping(uint256 index => address) users;
        mapping(address user => uint256 positionPlusOne) positions;
    }

    IModuleRegistry private immutable _REGISTRY;

    // Read together by every mint and clone: one slot.
    uint128 private _mintFee;
    uint128 private _lastTokenId;
    mapping(uint256 tokenId => TokenState) private _tokens;
    mapping(uint256 tokenId => mapping(uint256 index => IntelligentData)) private _datas;
    mapping(address user => address assistant) private _delegates;
    mapping(uint256 tokenId => mapping(uint256 generation => Authorized)) private _authorized;
    OracleProofs.Nonces private _nonces;

    /**
     * @param registry_ The module registry: governance, and the "NodeStaking" and "Flow" lookups.
     * @param mintFee_ The first mint fee, in wei (zero: free minting, the `no-token` profile).
     */
    constructor(
        address registry_,
        uint256 mintFee_
    ) ERC721("zerog Agent", "ZGA") EIP712("zerog AgentNFT", "1") {
        if (registry_ == address(0)) revert AgentNFTZeroAddress();
        _REGISTRY = IModuleRegistry(registry_);
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

        _addEntries(tokenId, to, datas, proofs);
        // count <= MAX_DATA_ENTRIES < 2^8.
        _tokens[tokenId].dataCount = uint8(count);
        _publishSealedKeys(to, tokenId, proofs);
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

        TokenState storage token = _tokens[tokenId];
        IntelligentData[] memory oldDatas = _datasOf(tokenId, token.dataCount);
        uint256 count = _applyUpdate(tokenId, oldDatas.length, owner, newDatas, proofs);
        // count <= MAX_DATA_ENTRIES < 2^8.
        token.dataCount = uint8(count);
        emit Updated(tokenId, oldDatas, _datasOf(tokenId, count));
        _publishSealedKeys(owner, tokenId, proofs);
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
        _tokens[newTokenId].dataCount = uint8(_handOver(tokenId, newTokenId, to, proofs));
        emit Cloned(tokenId, newTokenId, from, to);
    }

    /**
     * @notice A plain ERC-721 transfer; reverts with `AgentNFTIntelligentToken` while the token holds data (use
     * `iTransferFrom`). `safeTransferFrom` goes through here too.
     */
    function transferFrom(address from, address to, uint256 tokenId) public override(ERC721, IERC721) {
        if (_tokens[tokenId].dataCount != 0) revert AgentNFTIntelligentToken(tokenId);
        super.transferFrom(from, to, tokenId);
    }

    // ─── Authorization, delegation and nonces ─────────────────────────────────────────────────────

    /// @inheritdoc IERC7857
    function authorizeUsage(uint256 tokenId, address user) external {
        _requireTokenOwner(tokenId);
        if (user == address(0)) revert AgentNFTInvalidUser(user);
        TokenState storage token = _tokens[tokenId];
        Authorized storage authorized = _authorized[tokenId][token.generation];
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
        TokenState storage token = _tokens[tokenId];
        Authorized storage authorized = _authorized[tokenId][token.generation];
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
        _delegates[msg.sender] = assistant;
        emit DelegateAccess(msg.sender, assistant);
    }

    /// @inheritdoc IAgentNFT
    function invalidateNonces(uint256 word, uint256 mask) external {
        _nonces.words[msg.sender][word] |= mask;
        emit NoncesInvalidated(msg.sender, word, mask);
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
        return _datasOf(tokenId, _tokens[tokenId].dataCount);
    }

    /// @inheritdoc IERC7857
    function authorizedUsersOf(uint256 tokenId) external view returns (address[] memory users) {
        _requireOwned(tokenId);
        TokenState storage token = _tokens[tokenId];
        Authorized storage authorized = _authorized[tokenId][token.generation];
        uint256 count = token.authorizedCount;
        users = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            users[i] = authorized.users[i];
        }
    }

    /// @inheritdoc IAgentNFT
    function isAuthorizedUser(uint256 tokenId, address user) external view returns (bool) {
        return _authorized[tokenId][_tokens[tokenId].generation].positions[user] != 0;
    }

    /// @inheritdoc IERC7857
    function getDelegateAccess(address user) external view returns (address) {
        return _delegates[user];
    }

    /// @inheritdoc IAgentNFT
    function nonceBitmap(address receiver, uint256 word) external view returns (uint256) {
        return _nonces.words[receiver][word];
    }

    /// @inheritdoc IAgentNFT
    function isNonceUsed(address receiver, uint256 nonce) external view returns (bool) {
        return _nonces.isNonceUsed(receiver, nonce);
    }

    /// @inheritdoc IOracleProofs
    function accessProofDigest(
        bytes32 dataHash,
        bytes32 targetPubkeyHash,
        uint256 nonce,
        uint256 deadline
    ) external view returns (bytes32) {
        return OracleProofs.accessDigest(_domainSeparatorV4(), dataHash, targetPubkeyHash, nonce, deadline);
    }

    /// @inheritdoc IOracleProofs
    function ownershipProofDigest(
        IERC7857DataVerifier.OwnershipProof calldata proof
    ) external view returns (bytes32) {
        return OracleProofs.ownershipDigest(_domainSeparatorV4(), proof);
    }

    /// @inheritdoc IAgentNFT
    function mintFee() external view returns (uint256) {
        return _mintFee;
    }

    /// @inheritdoc IAgentNFT
    function totalMinted() external view returns (uint256) {
        return _lastTokenId;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view override(ERC721, IERC165) returns (bool) {
        return
            interfaceId == type(IERC7857).interfaceId ||
            interfaceId == type(IERC7857Metadata).interfaceId ||
            super.supportsInterface(interfaceId);
    }

    // ─── Internal ─────────────────────────────────────────────────────────────────────────────────

    /**
     * @dev Keeps `_tokens[id].approved` equal to `getApproved(id) != 0` (every write of an approval comes through
     * here), so that a transfer clears the approval, which OpenZeppelin writes on every transfer, only when there
     * is one: the token's state slot is read by the transfer anyway, the approval's would be read only for this.
     */
    function _approve(address to, uint256 tokenId, address auth, bool emitEvent) internal override {
        TokenState storage token = _tokens[tokenId];
        bool approved = to != address(0);
        if (approved != token.approved) {
            token.approved = approved;
        } else if (!approved && !emitEvent && auth == address(0)) {
            // A transfer clearing an approval that does not exist: nothing to write.
            return;
        }
        super._approve(to, tokenId, auth, emitEvent);
    }

    /// @dev Every ownership change (not a mint) ends the token's authorizations by starting a new generation.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0)) {
            TokenState storage token = _tokens[tokenId];
            if (token.authorizedCount != 0) {
                token.authorizedCount = 0;
                ++token.generation;
            }
        }
    }

    /// @dev The registry is an immutable: this contract is not upgradeable.
    function _registry() internal view override returns (IModuleRegistry) {
        return _REGISTRY;
    }

    /// @dev Reverts with `AgentNFTNotGovernance(caller)`.
    function _revertNotGovernance(address caller) internal pure override {
        revert AgentNFTNotGovernance(caller);
    }

    /**
     * @dev Checks the proofs that hand the data of `sourceId` over to `to` as token `targetId` (the same token
     * for a transfer, the clone for a clone), writes the new hashes (and, for a clone, the descriptions) and
     * publishes the sealed keys. Returns the number of entries.
     */
    function _handOver(
        uint256 sourceId,
        uint256 targetId,
        address to,
        IERC7857DataVerifier.TransferValidityProof[] calldata proofs
    ) private returns (uint256 count) {
        count = _tokens[sourceId].dataCount;
        if (proofs.length != count) revert AgentNFTProofCountMismatch(count, proofs.length);
        if (count == 0) return 0;

        OracleProofs.Context memory ctx = _proofContext();
        mapping(uint256 => IntelligentData) storage source = _datas[sourceId];
        mapping(uint256 => IntelligentData) storage target = _datas[targetId];
        address delegate;
        for (uint256 i = 0; i < count; ++i) {
            IERC7857DataVerifier.TransferValidityProof calldata proof = proofs[i];
            delegate = _verifyHandOver(ctx, i, proof, source[i].dataHash, to, delegate);
            if (targetId != sourceId) target[i].dataDescription = source[i].dataDescription;
            target[i].dataHash = proof.ownershipProof.newDataHash;
        }
        // The event's data is encoded in one piece, with nothing allocated in between.
        uint256 sealedKeys = _startBytesArray(count);
        for (uint256 i = 0; i < count; ++i) {
            _appendBytes(sealedKeys, i, proofs[i].ownershipProof.sealedKey);
        }
        _emitPublishedSealedKey(to, targetId, sealedKeys);
    }

    /**
     * @dev Checks the proof that hands entry `index`, whose hash is `current`, over to `to`: the data it re-encrypts,
     * the oracle's attestation, the key's holder and the consent of `to` or of its delegate. Returns the delegate of
     * `to` once read (zero until needed), so that a run of proofs reads it at most once.
     */
    function _verifyHandOver(
        OracleProofs.Context memory ctx,
        uint256 index,
        IERC7857DataVerifier.TransferValidityProof calldata proof,
        bytes32 current,
        address to,
        address delegate
    ) private returns (address) {
        bytes32 proven = proof.ownershipProof.oldDataHash;
        if (proven != current) revert AgentNFTDataHashMismatch(index, current, proven);
        (address receiver, address accessSigner, ) = OracleProofs.verifyTransfer(ctx, _nonces, index, proof);
        if (receiver != to) revert AgentNFTReceiverMismatch(index, to, receiver);
        if (accessSigner != to) {
            if (delegate == address(0)) delegate = _delegates[to];
            if (accessSigner != delegate) revert AgentNFTAccessSignerMismatch(index, to, accessSigner);
        }
        return delegate;
    }

    /// @dev Stores the first entries of a new token of `to`, each attested by its proof (old hash zero).
    function _addEntries(
        uint256 tokenId,
        address to,
        IntelligentData[] calldata datas,
        IERC7857DataVerifier.OwnershipProof[] calldata proofs
    ) private {
        OracleProofs.Context memory ctx = _proofContext();
        mapping(uint256 => IntelligentData) storage entries = _datas[tokenId];
        for (uint256 i = 0; i < datas.length; ++i) {
            IERC7857DataVerifier.OwnershipProof calldata proof = proofs[i];
            bytes32 oldDataHash = proof.oldDataHash;
            if (oldDataHash != bytes32(0)) revert AgentNFTDataHashMismatch(i, bytes32(0), oldDataHash);
            _verifyNewData(ctx, i, datas[i].dataHash, proof, to);
            entries[i] = datas[i];
        }
    }

    /**
     * @dev Checks ownership proofs and applies them to the `count` entries of a token: each appends its entry (old
     * hash zero) or replaces the first entry holding its old hash. Returns the new number of entries.
     */
    function _applyUpdate(
        uint256 tokenId,
        uint256 count,
        address owner,
        IntelligentData[] calldata newDatas,
        IERC7857DataVerifier.OwnershipProof[] calldata proofs
    ) private returns (uint256) {
        mapping(uint256 => IntelligentData) storage entries = _datas[tokenId];
        OracleProofs.Context memory ctx = _proofContext();
        for (uint256 k = 0; k < proofs.length; ++k) {
            IERC7857DataVerifier.OwnershipProof calldata proof = proofs[k];
            _verifyNewData(ctx, k, newDatas[k].dataHash, proof, owner);
            bytes32 oldDataHash = proof.oldDataHash;
            uint256 index;
            if (oldDataHash == bytes32(0)) {
                if (count == MAX_DATA_ENTRIES) revert AgentNFTTooManyEntries(count + 1, MAX_DATA_ENTRIES);
                index = count;
                ++count;
            } else {
                index = _indexOf(entries, count, k, oldDataHash);
            }
            entries[index] = newDatas[k];
        }
        return count;
    }

    /// @dev Checks an oracle's attestation for data entering a token: the entry declared and the key's holder.
    function _verifyNewData(
        OracleProofs.Context memory ctx,
        uint256 index,
        bytes32 declared,
        IERC7857DataVerifier.OwnershipProof calldata proof,
        address receiver
    ) private {
        bytes32 proven = proof.newDataHash;
        if (proven != declared) revert AgentNFTNewDataHashMismatch(index, declared, proven);
        (address keyHolder, ) = OracleProofs.verifyOwnership(ctx, _nonces, index, proof);
        if (keyHolder != receiver) revert AgentNFTReceiverMismatch(index, receiver, keyHolder);
    }

    /// @dev Takes the mint fee (exactly) and returns the next token id.
    function _collectFeeForNewToken() private returns (uint256 tokenId) {
        uint256 fee = _mintFee;
        if (msg.value != fee) revert AgentNFTFeeMismatch(fee, msg.value);
        tokenId = uint256(_lastTokenId) + 1;
        // Ids stay far below 2^128: each costs a transaction.
        _lastTokenId = uint128(tokenId);
    }

    function _setMintFee(uint256 fee) private {
        if (fee > type(uint128).max) revert AgentNFTFeeTooHigh(fee);
        _mintFee = uint128(fee);
        emit MintFeeSet(fee);
    }

    function _proofContext() private view returns (OracleProofs.Context memory) {
        return OracleProofs.context(_REGISTRY, _domainSeparatorV4());
    }

    /// @dev Emits `PublishedSealedKey(to, tokenId, keys)` with the sealed keys of ownership proofs (checked).
    function _publishSealedKeys(
        address to,
        uint256 tokenId,
        IERC7857DataVerifier.OwnershipProof[] calldata proofs
    ) private {
        uint256 sealedKeys = _startBytesArray(proofs.length);
        for (uint256 i = 0; i < proofs.length; ++i) {
            _appendBytes(sealedKeys, i, proofs[i].sealedKey);
        }
        _emitPublishedSealedKey(to, tokenId, sealedKeys);
    }

    // The `bytes[]` of `PublishedSealedKey` is ABI-encoded straight from calldata: Solidity would copy every key
    // into memory, then encode the copies again (about 500 gas more per event).

    /**
     * @dev Allocates the ABI encoding of a `bytes[]` of `count` elements as an event's data: the offset of the
     * array, its length and room for the elements' offsets. Returns where it starts.
     */
    function _startBytesArray(uint256 count) private pure returns (uint256 start) {
        // Safe: writes only the memory it allocates (the free memory pointer moves past the head).
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            start := mload(0x40)
            mstore(start, 0x20)
            mstore(add(start, 0x20), count)
            mstore(0x40, add(start, add(0x40, shl(5, count))))
        }
    }

    /// @dev Appends element `index` of the `bytes[]` started at `start`: its offset, then its length and contents.
    function _appendBytes(uint256 start, uint256 index, bytes calldata value) private pure {
        // Safe: the element is written at the free memory pointer, which then moves past it (rounded up to a word,
        // as the ABI pads); the zero word written after the contents pads them and may reach up to a word past the
        // new pointer, memory that is free to use.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let tail := mload(0x40)
            let heads := add(start, 0x40)
            mstore(add(heads, shl(5, index)), sub(tail, heads))
            mstore(tail, value.length)
            calldatacopy(add(tail, 0x20), value.offset, value.length)
            mstore(add(add(tail, 0x20), value.length), 0)
            mstore(0x40, add(add(tail, 0x20), and(add(value.length, 31), not(31))))
        }
    }

    /// @dev Emits `PublishedSealedKey(to, tokenId, keys)` whose `bytes[]` was encoded from `start` to the free
    /// memory pointer.
    function _emitPublishedSealedKey(address to, uint256 tokenId, uint256 start) private {
        bytes32 topic = PublishedSealedKey.selector;
        // Safe: only reads memory this contract allocated.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            log3(start, sub(mload(0x40), start), topic, to, tokenId)
        }
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
        mapping(uint256 => IntelligentData) storage entries = _datas[tokenId];
        datas = new IntelligentData[](count);
        for (uint256 i = 0; i < count; ++i) {
            datas[i] = entries[i];
        }
    }

    function _requireTokenOwner(uint256 tokenId) private view {
        if (_requireOwned(tokenId) != msg.sender) revert AgentNFTNotTokenOwner(tokenId, msg.sender);
    }
}
